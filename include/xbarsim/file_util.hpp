#pragma once
// Small file helpers shared by the CLI and the report writer.
#include <string>
#include <vector>

namespace xbarsim {

// Hex SHA-256 of a file's contents; throws Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);
// Hex SHA-256 over several files in order (each file's bytes, then its byte count), so that a
// dataset directory has one fingerprint.
std::string sha256_files(const std::vector<std::string>& paths);

// Writes `text` to `path` atomically: a temporary file in the same directory is written, flushed
// and renamed over `path`, so a failed or interrupted run never leaves a partial file behind.
void write_file_atomic(const std::string& path, const std::string& text);

// Fails (Error naming `option` and the path) unless `path` can become a file: not an existing
// directory, in a directory that exists. Commands call it before their work, so that a long run
// is not lost to a typo in its output path.
void require_output_file_path(const std::string& path, const std::string& option = "--out");

// The whole file as a string; throws Error naming the file when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace xbarsim
