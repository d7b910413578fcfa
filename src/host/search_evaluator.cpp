// Fitness of a co-search candidate: top-1 accuracy from the simulator on a fixed subset of the
// fitness dataset (every candidate sees the same images and the same seeds, so differences are
// the design's, not the noise draws'), and area, energy, latency from the cost model on the same
// analog plan. Networks, datasets and technology files are loaded once. A batch of candidates is
// prepared one after another and then measured concurrently, each candidate on its own backend
// (on a GPU each has its own stream, so candidates overlap on the device).
#include <atomic>
#include <map>
#include <optional>
#include <system_error>
#include <thread>

#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/cost/cost_model.hpp"
#include "xbarsim/cost/tech.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/search/space.hpp"

namespace xbarsim::search {

namespace {

// One candidate ready to measure: all a worker thread reads. The Config stays behind (its YAML
// nodes share storage between copies, so threads must not touch them).
struct Prepared {
    const Graph* graph = nullptr;
    AnalogPlan plan;
    cost::CostConfig cost;
    const cost::TechParams* tech = nullptr;
};

// The CPU backend already spreads one candidate over every core; a GPU has room for several
// candidates in flight, each on its own stream.
int default_workers(const std::string& backend) { return make_backend(backend)->name() == "cuda" ? 4 : 1; }

}  // namespace

struct SimulatorEvaluator::Impl {
    const SearchSpace& space;
    std::string data_dir;
    int workers = 1;
    std::unique_ptr<Dataset> data, calibration;
    std::vector<std::unique_ptr<Dataset>> readers;  // the fitness dataset for workers 1, 2, ... (0 reads `data`)
    std::map<std::string, Graph> graphs;
    std::map<std::string, cost::TechParams> techs;
    // Calibrated ranges by what they depend on (see calibration_key): candidates that differ only
    // in ADC family, ADC bits (percentile ranges), column sharing, device or technology share them.
    std::map<std::string, AnalogPlan> calibrations;

    Impl(const SearchSpace& s, const std::string& dir) : space(s), data_dir(dir) {
        workers = s.fitness.workers > 0 ? static_cast<int>(s.fitness.workers) : default_workers(s.fitness.backend);
        data = open_dataset(dir);
        // Ranges come from fitness.calibration_data, else the dataset's `calibration:` entry, else
        // the fitness images themselves (they are training images, never the reported test set).
        std::string calib = !s.fitness.calibration_data.empty() ? s.fitness.calibration_data : data->info().calibration;
        calibration = open_dataset(calib.empty() ? dir : calib);
        check_up_front();
    }

    // What would otherwise fail every candidate, or the final re-evaluation after the whole
    // search: each network must load and take the fitness, calibration and final datasets, and
    // the baseline design must give a plan and a technology. A failure here leaves no output.
    void check_up_front() {
        for (size_t n = 0; n < space.networks.size(); ++n) {
            const Graph* loaded = nullptr;
            try {
                loaded = &graph(space.networks[n]);
                check_dataset_matches_model(*loaded, calibration->info());
            } catch (const Error& e) {
                throw Error(space.file + ": key 'networks[" + std::to_string(n) + "]': " + e.what());
            }
            const Graph& g = *loaded;
            check_layer_groups(g);
            Genome genome = space.problem.baseline;
            if (space.networks.size() > 1) genome[0] = static_cast<int>(n);  // genes[0] is the network
            const Config c = design_config(space, genome, g);
            make_analog_plan(g, c.analog, c.run.seed);
            tech(c);
        }
        if (!space.final_eval.data.empty()) check_test_data(space.final_eval.data);
    }

    // Every entry of a `layer_groups` list must select a layer of every network: one that selects
    // none would make its group genes change nothing, silently.
    void check_layer_groups(const Graph& g) const {
        const std::vector<std::string> layers = mvm_layer_names(g);
        const int count = static_cast<int>(layers.size());
        for (size_t i = 0; i < space.layer_group_matches.size(); ++i) {
            const std::string& m = space.layer_group_matches[i];
            bool any = false;
            for (int k = 0; k < count && !any; ++k) any = layer_matches(m, layers[static_cast<size_t>(k)], k, count);
            if (!any)
                throw Error(space.file + ": key 'layer_groups[" + std::to_string(i) + "]': '" + m + "' matches no Conv/Gemm/MatMul layer of " +
                            g.source + " (" + std::to_string(count) + " such layers)");
        }
    }

    // The test set of the final re-evaluation against every network.
    void check_test_data(const std::string& dir) {
        const auto d = open_dataset(dir);
        for (const auto& model : space.networks) check_dataset_matches_model(graph(model), d->info());
    }

    const Graph& graph(const std::string& model) {
        auto it = graphs.find(model);
        if (it != graphs.end()) return it->second;
        Graph g = load_onnx(model);
        check_dataset_matches_model(g, data->info());
        return graphs.emplace(model, std::move(g)).first->second;
    }

    const cost::TechParams& tech(const Config& c) {
        auto it = techs.find(c.cost.tech);
        if (it != techs.end()) return it->second;
        return techs.emplace(c.cost.tech, cost::load_config_tech(c.cost.tech, c.source)).first->second;
    }

    // Ranges are measured with ideal arrays: they depend on the network and each analog layer's
    // mapping and converters, not on the device, and not on the ADC bits unless the ADC range is
    // an MSE search (which optimizes for them); ADC family and column sharing never change them.
    static std::string calibration_key(const std::string& model, const AnalogPlan& p) {
        std::string key = model;
        for (const auto& l : p.layers) {
            AnalogLayerConfig c = l.config;
            if (c.adc_range.method != CalibrationMethod::Mse && c.adc_bits > 0) c.adc_bits = 8;
            c.adc_type = AnalogLayerConfig{}.adc_type;
            c.columns_per_adc = 1;
            c.stochastic_rounding = false;
            c.read_noise_mode = ReadNoiseMode::Lumped;
            YAML::Emitter e;
            e << YAML::Flow << layer_to_yaml(c);
            key += "|" + l.name + ":" + e.c_str();
        }
        return key;
    }

    // The calibrated plan of a design (ranges measured on the calibration images, or reused).
    AnalogPlan plan(const std::string& model, const Graph& g, const Config& c) {
        AnalogPlan p = make_analog_plan(g, c.analog, c.run.seed);
        if (!p.needs_calibration()) return p;
        const std::string key = calibration_key(model, p);
        auto it = calibrations.find(key);
        if (it != calibrations.end()) {
            for (size_t i = 0; i < p.layers.size(); ++i) {
                auto& l = p.layers[i];
                const auto& r = it->second.layers[i];
                l.input_range = r.input_range;
                l.input_signed = r.input_signed;
                if (l.config.adc_bits > 0 && l.config.adc_range.mode == RangeMode::Calibrated) {
                    l.adc_range = r.adc_range;
                    l.adc_column_range = r.adc_column_range;
                }
                l.calibrated = true;
            }
            return p;
        }
        {
            CalibrationOptions o;
            o.images = std::min(space.fitness.calibration_images, calibration->size());
            o.batch = space.fitness.batch;
            o.progress = false;
            o.backend = space.fitness.backend;
            calibrate(g, p, *calibration, resolve_preprocess(g, calibration->info()), o);
        }
        calibrations.emplace(key, p);
        return p;
    }

    // Everything of a candidate that uses the caches (networks, calibrations, technologies).
    Prepared prepare(const Genome& genome) {
        const std::string model = design_model(space, genome);
        Prepared p;
        p.graph = &graph(model);
        const Config c = design_config(space, genome, *p.graph);
        p.plan = plan(model, *p.graph, c);
        p.cost = c.cost;
        p.tech = &tech(c);
        return p;
    }

    // Accuracy and cost of a prepared candidate; reads only `p`, `space` and `d`, so that
    // candidates with their own reader can be measured at once.
    Evaluation measure(const Prepared& p, Dataset& d) const {
        Evaluation e;
        const auto acc = top1(*p.graph, p.plan, d, std::min(space.fitness.images, d.size()), space.fitness.trials);
        for (double a : acc) e.accuracy += a / static_cast<double>(acc.size());
        const cost::CostReport r = cost::estimate_cost(*p.graph, p.plan, p.cost, *p.tech);
        e.energy_uj = r.energy_uj();
        e.latency_us = r.latency_ns / 1000.0;
        e.area_mm2 = r.area_mm2();
        e.edap = r.edap();
        e.tops_per_w = r.tops_per_w();
        e.tops_per_mm2 = r.tops_per_mm2();
        return e;
    }

    // Worker t's reader of the fitness dataset: a Dataset is one reader at a time.
    Dataset& reader(size_t t) {
        if (t == 0) return *data;
        while (readers.size() < t) readers.push_back(open_dataset(data_dir));
        return *readers[t - 1];
    }

    // Measures the prepared candidates (empty = failed already) into `out` on up to `workers`
    // threads, this one included. Each takes the next candidate in turn; a result does not
    // depend on which thread measured it.
    void measure_all(const std::vector<std::optional<Prepared>>& jobs, std::vector<Evaluation>& out) {
        std::vector<size_t> todo;
        for (size_t i = 0; i < jobs.size(); ++i)
            if (jobs[i]) todo.push_back(i);
        const size_t threads = std::min(static_cast<size_t>(workers), todo.size());
        std::vector<Dataset*> readers_of(threads);
        for (size_t t = 0; t < threads; ++t) readers_of[t] = &reader(t);  // opened before any thread starts
        std::atomic<size_t> next{0};
        auto work = [&](Dataset* d) {
            for (size_t k = next++; k < todo.size(); k = next++) {
                const size_t i = todo[k];
                try {
                    out[i] = measure(*jobs[i], *d);
                } catch (const std::exception& e) {
                    out[i] = failed_evaluation(e.what());
                } catch (...) {  // nothing may escape a thread
                    out[i] = failed_evaluation("unknown error");
                }
            }
        };
        std::vector<std::jthread> pool;  // joined when this returns
        for (size_t t = 1; t < threads; ++t) {
            try {
                pool.emplace_back(work, readers_of[t]);
            } catch (const std::system_error&) {
                break;  // no more threads to be had: the started ones share the work
            }
        }
        if (threads > 0) work(readers_of[0]);
    }

    std::vector<double> top1(const Graph& g, const AnalogPlan& p, Dataset& d, int64_t images, int64_t trials) const {
        auto backend = make_backend(space.fitness.backend);
        backend->load(g, &p);
        const PreprocessSpec pre = resolve_preprocess(g, d.info());
        // Chip instances side by side where the backend can (several per pass on a GPU).
        std::vector<uint32_t> ids;
        for (int64_t t = 0; t < trials; ++t) ids.push_back(static_cast<uint32_t>(t));
        std::vector<double> out;
        for (const EvalResult& r : evaluate_trials(g, *backend, d, pre, {images, space.fitness.batch, false}, ids))
            out.push_back(r.top1());
        return out;
    }
};

SimulatorEvaluator::SimulatorEvaluator(const SearchSpace& space, const std::string& data_dir)
    : impl_(std::make_unique<Impl>(space, data_dir)) {}

SimulatorEvaluator::~SimulatorEvaluator() = default;

Evaluation SimulatorEvaluator::evaluate(const Genome& genome) { return impl_->measure(impl_->prepare(genome), *impl_->data); }

std::vector<Evaluation> SimulatorEvaluator::evaluate_batch(const std::vector<Genome>& genomes) {
    std::vector<Evaluation> out(genomes.size());
    std::vector<std::optional<Prepared>> jobs(genomes.size());
    for (size_t i = 0; i < genomes.size(); ++i) {
        try {
            jobs[i] = impl_->prepare(genomes[i]);
        } catch (const std::exception& e) {
            out[i] = failed_evaluation(e.what());
        }
    }
    impl_->measure_all(jobs, out);
    return out;
}

int SimulatorEvaluator::workers() const { return impl_->workers; }

void SimulatorEvaluator::check_test_data(const std::string& data_dir) { impl_->check_test_data(data_dir); }

std::vector<double> SimulatorEvaluator::accuracy(const Genome& genome, const std::string& data_dir, int64_t images, int64_t trials) {
    const Prepared p = impl_->prepare(genome);
    auto d = open_dataset(data_dir);
    check_dataset_matches_model(*p.graph, d->info());
    return impl_->top1(*p.graph, p.plan, *d, images > 0 ? std::min(images, d->size()) : 0, trials);
}

}  // namespace xbarsim::search
