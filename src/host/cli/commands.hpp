#pragma once
// The xbarsim subcommands. Each registers its options on a CLI11 subcommand and returns the
// function that runs it (after parsing); errors are thrown as xbarsim::Error.
#include <CLI/CLI.hpp>

#include <functional>

namespace xbarsim::cli {

using Command = std::function<void()>;

Command add_run(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_devices(CLI::App& app);
Command add_calibrate(CLI::App& app);
Command add_cost(CLI::App& app);
Command add_search(CLI::App& app);

}  // namespace xbarsim::cli
