#include "xbarsim/file_util.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>

#include "xbarsim/error.hpp"

namespace xbarsim {

namespace {

using DigestCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

void hash_file_into(EVP_MD_CTX* ctx, const std::string& path, bool with_length) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file for hashing");
    std::vector<char> buf(1 << 20);
    unsigned long long total = 0;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto got = in.gcount();
        if (got > 0) {
            EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(got));
            total += static_cast<unsigned long long>(got);
        }
    }
    if (in.bad()) throw Error(path + ": read error while hashing");
    if (with_length) EVP_DigestUpdate(ctx, &total, sizeof(total));
}

std::string finish(EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

}  // namespace

std::string sha256_file(const std::string& path) {
    DigestCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    hash_file_into(ctx.get(), path, false);
    return finish(ctx.get());
}

std::string sha256_files(const std::vector<std::string>& paths) {
    DigestCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    for (const auto& p : paths) hash_file_into(ctx.get(), p, true);
    return finish(ctx.get());
}

void write_file_atomic(const std::string& path, const std::string& text) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    std::string tmp_name = ".";  // hidden sibling, so the rename below stays on one file system
    tmp_name += target.filename().string();
    tmp_name += ".tmp.";
    tmp_name += std::to_string(getpid());
    const fs::path tmp = target.parent_path() / tmp_name;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(path + ": cannot write (is the directory there and writable?)");
        out << text;
        out.flush();
        if (!out) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw Error(path + ": write failed");
        }
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) {
        const std::string why = ec.message();  // before remove() reuses ec
        fs::remove(tmp, ec);
        throw Error(path + ": cannot move the finished file into place: " + why);
    }
}

void require_output_file_path(const std::string& path, const std::string& option) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path target(path);
    if (fs::is_directory(target, ec)) throw Error(option + " " + path + ": is a directory; give a file name");
    const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    if (!fs::is_directory(dir, ec))
        throw Error(option + " " + path + ": the directory " + dir.string() + " does not exist");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(path + ": read error");
    return ss.str();
}

}  // namespace xbarsim
