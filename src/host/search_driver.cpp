// The co-search loop: pagmo2's NSGA-II evolves a population of integer genomes one generation at
// a time (a fresh algorithm seeded with (seed, generation) each time, so a run resumed from a
// checkpoint continues exactly as an uninterrupted one); every distinct genome is evaluated once
// (cached), duplicates in a population are replaced by fresh random genomes, and each generation
// ends with the output files rewritten and a checkpoint. New candidates are evaluated in batches
// (NSGA-II's offspring through a pagmo batch fitness evaluator), so that the evaluator can run a
// population's candidates concurrently.
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>
#include <pagmo/utils/hypervolume.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include "xbarsim/error.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/search/search.hpp"

namespace xbarsim::search {

const char* objective_name(Objective o) {
    switch (o) {
        case Objective::Accuracy: return "accuracy";
        case Objective::Energy: return "energy";
        case Objective::Latency: return "latency";
        case Objective::Area: return "area";
        case Objective::Edap: return "edap";
    }
    return "?";
}

Evaluation failed_evaluation(std::string reason) {
    Evaluation e;
    e.ok = false;
    e.reason = std::move(reason);
    return e;
}

std::vector<Evaluation> Evaluator::evaluate_batch(const std::vector<Genome>& genomes) {
    std::vector<Evaluation> out;
    out.reserve(genomes.size());
    for (const Genome& g : genomes) {
        try {
            out.push_back(evaluate(g));
        } catch (const std::exception& e) {
            out.push_back(failed_evaluation(e.what()));
        }
    }
    return out;
}

Objective parse_objective(const std::string& n) {
    for (Objective o : {Objective::Accuracy, Objective::Energy, Objective::Latency, Objective::Area, Objective::Edap})
        if (n == objective_name(o)) return o;
    throw Error("unknown objective '" + n + "' (accuracy, energy, latency, area or edap)");
}

namespace {

double cost_of(const Evaluation& e, Objective o) {
    switch (o) {
        case Objective::Energy: return e.energy_uj;
        case Objective::Latency: return e.latency_us;
        case Objective::Area: return e.area_mm2;
        case Objective::Edap: return e.edap;
        case Objective::Accuracy: break;
    }
    return 0;
}

// How far a candidate is from satisfying the constraints (0 = feasible), with the reasons.
double violation(const SearchProblem& p, const Evaluation& e, const Evaluation* baseline, std::string* reason) {
    if (!e.ok) {
        *reason = e.reason;
        return 1.0;
    }
    double v = 0;
    std::ostringstream why;
    const auto& c = p.constraints;
    if (c.area_mm2_max > 0 && e.area_mm2 > c.area_mm2_max) {
        v += e.area_mm2 / c.area_mm2_max - 1.0;
        why << "area " << e.area_mm2 << " mm2 > budget " << c.area_mm2_max << "; ";
    }
    if (c.accuracy_min > 0 && e.accuracy < c.accuracy_min) {
        v += c.accuracy_min - e.accuracy;
        why << "accuracy " << e.accuracy << " < floor " << c.accuracy_min << "; ";
    }
    if (c.accuracy_loss_max >= 0 && baseline && e.accuracy < baseline->accuracy - c.accuracy_loss_max) {
        v += baseline->accuracy - c.accuracy_loss_max - e.accuracy;
        why << "accuracy " << e.accuracy << " more than " << c.accuracy_loss_max << " below the baseline's " << baseline->accuracy << "; ";
    }
    *reason = why.str();
    if (!reason->empty()) reason->resize(reason->size() - 2);
    return v;
}

}  // namespace

std::vector<double> objective_vector(const SearchProblem& p, const Candidate& c, const Evaluation& baseline) {
    std::string reason;
    const double v = violation(p, c.eval, &baseline, &reason);
    std::vector<double> f;
    for (Objective o : p.objectives) {
        if (v > 0 || !c.eval.ok) {
            f.push_back(1000.0 + v);
            continue;
        }
        if (o == Objective::Accuracy) {
            f.push_back(1.0 - c.eval.accuracy);
        } else {
            const double b = cost_of(baseline, o);
            f.push_back(b > 0 ? cost_of(c.eval, o) / b : cost_of(c.eval, o));
        }
    }
    return f;
}

std::vector<size_t> non_dominated(const std::vector<std::vector<double>>& pts) {
    std::vector<size_t> out;
    for (size_t i = 0; i < pts.size(); ++i) {
        bool dominated = false;
        for (size_t j = 0; j < pts.size() && !dominated; ++j) {
            if (i == j) continue;
            bool all_le = true, some_lt = false;
            for (size_t k = 0; k < pts[i].size(); ++k) {
                all_le = all_le && pts[j][k] <= pts[i][k];
                some_lt = some_lt || pts[j][k] < pts[i][k];
            }
            // Equal vectors: the earlier one stands for both.
            dominated = all_le && (some_lt || j < i);
        }
        if (!dominated) out.push_back(i);
    }
    return out;
}

namespace {

// Owns the cache and the output files; pagmo asks for fitness through PagmoProblem (one genome)
// and BatchFitness (a generation's offspring).
class Driver {
public:
    Driver(const SearchProblem& p, Evaluator& e, const SearchOptions& o) : p_(p), eval_(e), o_(o) {}

    // The objective vectors of `genomes`, evaluating together those not cached yet.
    std::vector<std::vector<double>> fitness_batch(const std::vector<Genome>& genomes) {
        evaluate_new(genomes);
        std::vector<std::vector<double>> f;
        f.reserve(genomes.size());
        for (const Genome& g : genomes) f.push_back(objective_vector(p_, cached(g), baseline()));
        return f;
    }
    std::vector<double> fitness(const Genome& g) { return fitness_batch({g}).front(); }
    const Evaluation& baseline() const { return result_.evaluated[static_cast<size_t>(result_.baseline_id)].eval; }

    SearchResult run();

private:
    const Candidate& cached(const Genome& g) const { return result_.evaluated[static_cast<size_t>(index_.at(g))]; }
    void evaluate_new(const std::vector<Genome>& genomes);
    std::vector<Evaluation> evaluate_guarded(const std::vector<Genome>& genomes);
    void record(const Genome& g, const Evaluation& e);
    Genome random_genome(std::mt19937_64& rng) const {
        Genome g;
        for (const auto& gene : p_.genes)
            g.push_back(static_cast<int>(std::uniform_int_distribution<size_t>(0, gene.choices.size() - 1)(rng)));
        return g;
    }
    std::vector<Genome> initial_genomes() const;
    void replace_duplicates(pagmo::population& pop, uint64_t salt);
    double hypervolume(const pagmo::population& pop) const;
    void write_outputs() const;
    void write_checkpoint(const pagmo::population& pop) const;
    bool load_checkpoint(pagmo::population& pop);
    std::string path(const char* name) const { return (std::filesystem::path(o_.out_dir) / name).string(); }

    const SearchProblem& p_;
    Evaluator& eval_;
    const SearchOptions& o_;
    SearchResult result_;
    std::map<Genome, int> index_;
    int generation_ = 0;
};

Genome to_genome(const pagmo::vector_double& x) {
    Genome g;
    for (double v : x) g.push_back(static_cast<int>(std::lround(v)));
    return g;
}

pagmo::vector_double to_x(const Genome& g) { return pagmo::vector_double(g.begin(), g.end()); }

// Evaluates the genomes of a batch that are not cached yet, together. Their ids follow the order
// the batch lists them (first occurrence): the same ids one-at-a-time evaluation gave, whatever
// the evaluator does inside the batch, so the outputs and --resume stay reproducible.
void Driver::evaluate_new(const std::vector<Genome>& genomes) {
    std::vector<Genome> fresh;
    std::set<Genome> listed;
    for (const Genome& g : genomes)
        if (!index_.count(g) && listed.insert(g).second) fresh.push_back(g);
    if (fresh.empty()) return;
    const std::vector<Evaluation> evals = evaluate_guarded(fresh);
    if (evals.size() != fresh.size())
        throw Error("search: the evaluator returned " + std::to_string(evals.size()) + " evaluations for " + std::to_string(fresh.size()) +
                    " candidates");
    for (size_t i = 0; i < fresh.size(); ++i) record(fresh[i], evals[i]);
}

// A batch that throws as a whole (an evaluator that does not catch per candidate) fails each of
// its candidates with the message, as one candidate's exception does; the search goes on.
std::vector<Evaluation> Driver::evaluate_guarded(const std::vector<Genome>& genomes) {
    try {
        return eval_.evaluate_batch(genomes);
    } catch (const std::exception& e) {
        return std::vector<Evaluation>(genomes.size(), failed_evaluation(e.what()));
    }
}

void Driver::record(const Genome& g, const Evaluation& e) {
    Candidate c;
    c.id = static_cast<int>(result_.evaluated.size());
    c.generation = generation_;
    c.genome = g;
    c.eval = e;
    std::string reason;
    // The first candidate is the baseline itself: nothing to compare it with yet.
    const double v = violation(p_, c.eval, result_.evaluated.empty() ? nullptr : &baseline(), &reason);
    c.feasible = c.eval.ok && v == 0;
    if (c.eval.ok) c.eval.reason = reason;
    index_[g] = c.id;
    result_.evaluated.push_back(std::move(c));
}

// pagmo's user-defined problem: integer genes in [0, choices - 1], the objectives minimized.
struct PagmoProblem {
    Driver* driver = nullptr;
    std::vector<double> upper;
    size_t objectives = 2;
    pagmo::vector_double fitness(const pagmo::vector_double& x) const { return driver->fitness(to_genome(x)); }
    std::pair<pagmo::vector_double, pagmo::vector_double> get_bounds() const {
        return {pagmo::vector_double(upper.size(), 0.0), upper};
    }
    pagmo::vector_double::size_type get_nobj() const { return objectives; }
    pagmo::vector_double::size_type get_nix() const { return upper.size(); }
    std::string get_name() const { return "xbarsim co-search"; }
};

// pagmo's user-defined batch fitness evaluator: NSGA-II hands it all offspring of a generation
// (decision vectors concatenated) and takes their fitnesses back concatenated in the same order.
// It draws the same random numbers with or without it, so the offspring are the same either way.
struct BatchFitness {
    Driver* driver = nullptr;
    pagmo::vector_double operator()(const pagmo::problem& prob, const pagmo::vector_double& dvs) const {
        const size_t nx = prob.get_nx();
        std::vector<Genome> genomes;
        for (auto it = dvs.begin(); dvs.end() - it >= static_cast<std::ptrdiff_t>(nx); it += static_cast<std::ptrdiff_t>(nx))
            genomes.push_back(to_genome(pagmo::vector_double(it, it + static_cast<std::ptrdiff_t>(nx))));
        pagmo::vector_double out;
        for (const auto& f : driver->fitness_batch(genomes)) out.insert(out.end(), f.begin(), f.end());
        return out;
    }
    std::string get_name() const { return "xbarsim batch evaluation"; }
};

// The initial population: the baseline, then distinct random genomes (the baseline again where a
// tiny space has too few).
std::vector<Genome> Driver::initial_genomes() const {
    const size_t n = static_cast<size_t>(o_.population);
    std::vector<Genome> out{p_.baseline};
    std::mt19937_64 rng(o_.seed);
    std::set<Genome> seen{p_.baseline};
    for (int tries = 0; out.size() < n && tries < 100 * o_.population; ++tries) {
        Genome g = random_genome(rng);
        if (seen.insert(g).second) out.push_back(std::move(g));
    }
    out.resize(std::max(out.size(), n), p_.baseline);
    return out;
}

void Driver::replace_duplicates(pagmo::population& pop, uint64_t salt) {
    std::mt19937_64 rng(o_.seed * 0x9E3779B97F4A7C15ull + salt);
    std::set<Genome> seen;
    std::vector<size_t> slots;
    std::vector<Genome> replacements;
    for (size_t i = 0; i < pop.size(); ++i) {
        Genome g = to_genome(pop.get_x()[i]);
        if (seen.insert(g).second) continue;
        // A duplicate: a fresh genome not yet in the population (bounded tries for tiny spaces).
        for (int tries = 0; tries < 64 && seen.count(g); ++tries) g = random_genome(rng);
        seen.insert(g);
        slots.push_back(i);
        replacements.push_back(g);
    }
    // The choice of replacements does not depend on their fitness: evaluate them as one batch.
    const auto f = fitness_batch(replacements);
    for (size_t k = 0; k < slots.size(); ++k) pop.set_xf(slots[k], to_x(replacements[k]), f[k]);
}

double Driver::hypervolume(const pagmo::population& pop) const {
    std::vector<pagmo::vector_double> pts;
    std::vector<double> ref;
    for (Objective o : p_.objectives) ref.push_back(o == Objective::Accuracy ? 1.0 : o_.hv_reference);
    for (const auto& f : pop.get_f()) {
        bool inside = true;
        for (size_t k = 0; k < f.size(); ++k) inside = inside && f[k] < ref[k];
        if (inside) pts.push_back(f);
    }
    if (pts.empty()) return 0.0;
    return pagmo::hypervolume(pts, false).compute(ref);
}

std::string csv_escape(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) {
        if (c == '"') o += '"';
        o += c == '\n' ? ' ' : c;
    }
    return o + "\"";
}

std::string fmt(double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

void Driver::write_outputs() const {
    std::ostringstream head;
    head << "id,generation";
    for (const auto& g : p_.genes) head << ',' << g.name;
    head << ",feasible,accuracy,energy_uj,latency_us,area_mm2,edap,tops_per_w,tops_per_mm2,reason\n";
    auto row = [&](const Candidate& c) {
        std::ostringstream r;
        r << c.id << ',' << c.generation;
        for (size_t i = 0; i < p_.genes.size(); ++i) r << ',' << csv_escape(p_.genes[i].choices[static_cast<size_t>(c.genome[i])]);
        const auto& e = c.eval;
        r << ',' << (c.feasible ? 1 : 0) << ',' << fmt(e.accuracy) << ',' << fmt(e.energy_uj) << ',' << fmt(e.latency_us) << ','
          << fmt(e.area_mm2) << ',' << fmt(e.edap) << ',' << fmt(e.tops_per_w) << ',' << fmt(e.tops_per_mm2) << ','
          << csv_escape(e.reason) << '\n';
        return r.str();
    };
    std::string all = head.str();
    for (const auto& c : result_.evaluated) all += row(c);
    write_file_atomic(path("evaluated.csv"), all);
    // The front, with ratios to the baseline (how many times better: baseline / candidate).
    const Evaluation& b = baseline();
    std::string front = head.str();
    front.insert(front.size() - 1, ",accuracy_loss,edap_gain,energy_gain,latency_gain,area_gain,tops_per_w_ratio,tops_per_mm2_ratio");
    auto ratio = [](double a, double c) { return c > 0 ? a / c : 0.0; };
    for (int id : result_.pareto) {
        const Candidate& c = result_.evaluated[static_cast<size_t>(id)];
        std::string r = row(c);
        r.pop_back();
        for (double v : {b.accuracy - c.eval.accuracy, ratio(b.edap, c.eval.edap), ratio(b.energy_uj, c.eval.energy_uj),
                         ratio(b.latency_us, c.eval.latency_us), ratio(b.area_mm2, c.eval.area_mm2), ratio(c.eval.tops_per_w, b.tops_per_w),
                         ratio(c.eval.tops_per_mm2, b.tops_per_mm2)}) {
            r += ',';
            r += fmt(v);
        }
        r += '\n';
        front += r;
    }
    write_file_atomic(path("pareto.csv"), front);
    std::string hv = "generation,hypervolume,evaluated\n";
    for (size_t g = 0; g < result_.hypervolume.size(); ++g)
        hv += std::to_string(g) + "," + fmt(result_.hypervolume[g]) + "," + std::to_string(result_.evaluated_by_generation[g]) + "\n";
    write_file_atomic(path("hypervolume.csv"), hv);
}

nlohmann::json eval_to_json(const Evaluation& e) {
    return {{"ok", e.ok}, {"reason", e.reason}, {"accuracy", e.accuracy}, {"energy_uj", e.energy_uj}, {"latency_us", e.latency_us},
            {"area_mm2", e.area_mm2}, {"edap", e.edap}, {"tops_per_w", e.tops_per_w}, {"tops_per_mm2", e.tops_per_mm2}};
}

Evaluation eval_from_json(const nlohmann::json& j) {
    Evaluation e;
    e.ok = j.at("ok");
    e.reason = j.at("reason");
    e.accuracy = j.at("accuracy");
    e.energy_uj = j.at("energy_uj");
    e.latency_us = j.at("latency_us");
    e.area_mm2 = j.at("area_mm2");
    e.edap = j.at("edap");
    e.tops_per_w = j.at("tops_per_w");
    e.tops_per_mm2 = j.at("tops_per_mm2");
    return e;
}

void Driver::write_checkpoint(const pagmo::population& pop) const {
    // Everything the next generation depends on: the population (genomes and the exact objective
    // values), every evaluation (the cache, in order), and the hypervolume history.
    nlohmann::json j;
    j["version"] = 1;
    j["space"] = p_.space_text;
    j["seed"] = o_.seed;
    j["population_size"] = o_.population;
    j["generation"] = generation_;
    for (size_t i = 0; i < pop.size(); ++i) j["population"].push_back({{"x", to_genome(pop.get_x()[i])}, {"f", pop.get_f()[i]}});
    for (const auto& c : result_.evaluated)
        j["evaluated"].push_back({{"generation", c.generation}, {"genome", c.genome}, {"feasible", c.feasible}, {"eval", eval_to_json(c.eval)}});
    j["hypervolume"] = result_.hypervolume;
    j["evaluated_by_generation"] = result_.evaluated_by_generation;
    j["baseline_id"] = result_.baseline_id;
    write_file_atomic(path("checkpoint.json"), j.dump(1) + "\n");
}

bool Driver::load_checkpoint(pagmo::population& pop) {
    const std::string file = path("checkpoint.json");
    if (!std::filesystem::exists(file)) return false;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_file(file));
        if (j.at("version") != 1) throw Error("unsupported version");
        if (j.at("space") != p_.space_text) throw Error("it belongs to a different space file");
        if (j.at("seed") != o_.seed) throw Error("it was made with seed " + j.at("seed").dump() + ", not " + std::to_string(o_.seed));
        if (j.at("population_size") != o_.population)
            throw Error("it has population " + j.at("population_size").dump() + ", not " + std::to_string(o_.population));
        for (const auto& e : j.at("evaluated")) {
            Candidate c;
            c.id = static_cast<int>(result_.evaluated.size());
            c.generation = e.at("generation");
            c.genome = e.at("genome").get<Genome>();
            c.feasible = e.at("feasible");
            c.eval = eval_from_json(e.at("eval"));
            index_[c.genome] = c.id;
            result_.evaluated.push_back(c);
        }
        result_.hypervolume = j.at("hypervolume").get<std::vector<double>>();
        result_.evaluated_by_generation = j.at("evaluated_by_generation").get<std::vector<int64_t>>();
        result_.baseline_id = j.at("baseline_id");
        generation_ = j.at("generation");
        for (const auto& ind : j.at("population"))
            pop.push_back(to_x(ind.at("x").get<Genome>()), ind.at("f").get<pagmo::vector_double>());
    } catch (const Error& e) {
        throw Error(file + ": cannot resume: " + e.what());
    } catch (const std::exception& e) {
        throw Error(file + ": cannot resume, the checkpoint is damaged: " + e.what());
    }
    return true;
}

SearchResult Driver::run() {
    if (p_.objectives.size() < 2 || p_.objectives.size() > 4) throw Error("search: give two to four objectives");
    if (o_.population < 8 || o_.population % 4 != 0)
        throw Error("search: the population must be a multiple of 4 and at least 8 (NSGA-II), got " + std::to_string(o_.population));
    if (o_.generations < 0) throw Error("search: generations must be >= 0");
    std::filesystem::create_directories(o_.out_dir);
    PagmoProblem udp;
    udp.driver = this;
    for (const auto& g : p_.genes) udp.upper.push_back(static_cast<double>(g.choices.size() - 1));
    udp.objectives = p_.objectives.size();
    pagmo::problem prob{udp};
    pagmo::population pop{prob, 0u, static_cast<unsigned>(o_.seed)};

    const bool resumed = o_.resume && load_checkpoint(pop);
    if (o_.resume && !resumed && o_.progress) std::printf("search: no checkpoint in %s, starting afresh\n", o_.out_dir.c_str());
    if (!resumed) {
        // Generation 0: the baseline first and alone (objectives are normalized by it), then the
        // random genomes as one batch.
        evaluate_new({p_.baseline});
        result_.baseline_id = 0;
        const std::vector<Genome> initial = initial_genomes();
        const auto f = fitness_batch(initial);
        for (size_t i = 0; i < initial.size(); ++i) pop.push_back(to_x(initial[i]), f[i]);
        result_.hypervolume.push_back(hypervolume(pop));
        result_.evaluated_by_generation.push_back(static_cast<int64_t>(result_.evaluated.size()));
    }
    auto update_front = [&] {
        std::vector<std::vector<double>> pts;
        std::vector<int> ids;
        for (const auto& c : result_.evaluated)
            if (c.feasible) {
                pts.push_back(objective_vector(p_, c, baseline()));
                ids.push_back(c.id);
            }
        result_.pareto.clear();
        for (size_t i : non_dominated(pts)) result_.pareto.push_back(ids[i]);
    };
    auto report = [&] {
        update_front();
        write_outputs();
        write_checkpoint(pop);
        if (o_.progress)
            std::printf("generation %3d  evaluated %4zu  front %3zu  hypervolume %.6g\n", generation_, result_.evaluated.size(),
                        result_.pareto.size(), result_.hypervolume.back());
        std::fflush(stdout);
    };
    if (!resumed) report();
    const double m = p_.genes.empty() ? 0.1 : 1.0 / static_cast<double>(p_.genes.size());
    while (generation_ < o_.generations) {
        ++generation_;
        // One generation per call, seeded by (seed, generation): the same from a checkpoint.
        pagmo::nsga2 nsga2(1u, 0.9, 10.0, m, 20.0, static_cast<unsigned>(o_.seed * 1000003u + static_cast<uint64_t>(generation_)));
        nsga2.set_bfe(pagmo::bfe{BatchFitness{this}});
        pagmo::algorithm algo{nsga2};
        pop = algo.evolve(pop);
        replace_duplicates(pop, static_cast<uint64_t>(generation_));
        result_.hypervolume.push_back(hypervolume(pop));
        result_.evaluated_by_generation.push_back(static_cast<int64_t>(result_.evaluated.size()));
        report();
    }
    update_front();
    return result_;
}

}  // namespace

SearchResult run_search(const SearchProblem& problem, Evaluator& evaluator, const SearchOptions& options) {
    Driver d(problem, evaluator, options);
    return d.run();
}

}  // namespace xbarsim::search
