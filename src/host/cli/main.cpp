// xbarsim command-line entry point: parses the subcommand, runs it, and turns every error into
// one clear message on stderr and a non-zero exit status.
#include <cstdio>
#include <exception>
#include <map>

#include "commands.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"xbarsim: accuracy simulator for analog in-memory computing (DNN inference on resistive crossbars)"};
    app.set_version_flag("--version", std::string(xbarsim::kVersion) + " (" + xbarsim::kGitDescribe + ")");
    app.require_subcommand(1);
    std::map<CLI::App*, xbarsim::cli::Command> commands;
    auto add = [&](auto adder, const char* name, const char* help) {
        CLI::App* sub = app.add_subcommand(name, help);
        commands[sub] = adder(*sub);
    };
    add(xbarsim::cli::add_run, "run", "Evaluate a model on a dataset and report top-1/top-5 accuracy");
    add(xbarsim::cli::add_calibrate, "calibrate", "Measure the input and ADC ranges of the analog layers on calibration images");
    add(xbarsim::cli::add_cost, "cost", "Estimate chip area, energy and latency of a model on the crossbars a config describes");
    add(xbarsim::cli::add_search, "search", "Co-search network and periphery (NSGA-II) for accuracy against area, energy and latency");
    add(xbarsim::cli::add_inspect, "inspect", "Print every layer of a model with shapes, MACs and parameters");
    add(xbarsim::cli::add_bench, "bench", "Measure engine throughput against plain BLAS GEMMs of the same shapes");
    add(xbarsim::cli::add_devices, "devices", "List the CPU and CUDA devices this build can use");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        for (auto& [sub, run] : commands)
            if (sub->parsed()) run();
    } catch (const xbarsim::Error& e) {
        std::fprintf(stderr, "xbarsim: error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "xbarsim: error: out of memory (try a smaller --batch)\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xbarsim: internal error: %s\n", e.what());
        return 2;
    }
    return 0;
}
