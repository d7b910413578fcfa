#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and CI output
// stay clean).
#include <chrono>
#include <string>

namespace xbarsim {

class ProgressBar {
public:
    ProgressBar(int64_t total, std::string label);
    ~ProgressBar();
    void update(int64_t done);
    void finish();

private:
    int64_t total_;
    std::string label_;
    bool enabled_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace xbarsim
