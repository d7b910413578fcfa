#include "test_util.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace xbarsim::test {

CommandResult run_cli(const std::string& args) {
    CommandResult r;
    const std::string cmd = std::string(XBARSIM_CLI_PATH) + " " + args + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    const int status = pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace xbarsim::test
