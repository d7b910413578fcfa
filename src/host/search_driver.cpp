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
#include <limits>
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
    void load_checkpoint(pagmo::population& pop);
    void restore(const nlohmann::json& j, pagmo::population& pop);
    void prepare_out_dir() const;
    void check_problem() const;
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

// Reading a checkpoint back: every field is checked against the space before it is used (an id,
// a gene index or a count from a damaged file must not index anything), and every message names
// the field ("evaluated[3].genome[1]"). The caller adds the file.
class CheckpointReader {
public:
    explicit CheckpointReader(const SearchProblem& p) : p_(p) {}

    [[noreturn]] static void fail(const std::string& field, const std::string& why) {
        throw Error("the checkpoint is damaged: " + field + ": " + why);
    }

    static const nlohmann::json& at(const nlohmann::json& j, const char* key, const std::string& where) {
        if (!j.is_object()) fail(where.empty() ? "checkpoint" : where, "expected an object");
        const auto it = j.find(key);
        if (it == j.end()) fail(where.empty() ? key : where + "." + key, "missing");
        return *it;
    }
    static std::string name(const std::string& where, const char* key) { return where.empty() ? key : where + "." + key; }

    // An integer within [lo, hi]. JSON numbers beyond int64 (or fractions, or booleans) are
    // refused instead of being converted, so that nothing wraps.
    static int64_t integer(const nlohmann::json& v, const std::string& field, int64_t lo, int64_t hi) {
        if (!v.is_number_integer()) fail(field, "expected an integer, got " + v.dump());
        if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail(field, v.dump() + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
        const auto n = v.get<int64_t>();
        if (n < lo || n > hi) fail(field, v.dump() + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
        return n;
    }
    static bool boolean(const nlohmann::json& v, const std::string& field) {
        if (!v.is_boolean()) fail(field, "expected true or false, got " + v.dump());
        return v.get<bool>();
    }
    // A measured value: a number, or null where the run stored a NaN (JSON has no NaN).
    static double number(const nlohmann::json& v, const std::string& field) {
        if (v.is_null()) return std::nan("");
        if (!v.is_number()) fail(field, "expected a number, got " + v.dump());
        return v.get<double>();
    }
    static const nlohmann::json& array(const nlohmann::json& v, const std::string& field) {
        if (!v.is_array()) fail(field, "expected a list");
        return v;
    }

    // A genome of this space: one gene index per gene, each within its choices.
    Genome genome(const nlohmann::json& v, const std::string& field) const {
        array(v, field);
        if (v.size() != p_.genes.size())
            fail(field, "has " + std::to_string(v.size()) + " genes, the space has " + std::to_string(p_.genes.size()));
        Genome g;
        for (size_t i = 0; i < v.size(); ++i)
            g.push_back(static_cast<int>(integer(v[i], field + "[" + std::to_string(i) + "]", 0,
                                                 static_cast<int64_t>(p_.genes[i].choices.size()) - 1)));
        return g;
    }

    Evaluation evaluation(const nlohmann::json& j, const std::string& where) const {
        Evaluation e;
        e.ok = boolean(at(j, "ok", where), name(where, "ok"));
        const auto& reason = at(j, "reason", where);
        if (!reason.is_string()) fail(name(where, "reason"), "expected a string");
        e.reason = reason.get<std::string>();
        e.accuracy = number(at(j, "accuracy", where), name(where, "accuracy"));
        e.energy_uj = number(at(j, "energy_uj", where), name(where, "energy_uj"));
        e.latency_us = number(at(j, "latency_us", where), name(where, "latency_us"));
        e.area_mm2 = number(at(j, "area_mm2", where), name(where, "area_mm2"));
        e.edap = number(at(j, "edap", where), name(where, "edap"));
        e.tops_per_w = number(at(j, "tops_per_w", where), name(where, "tops_per_w"));
        e.tops_per_mm2 = number(at(j, "tops_per_mm2", where), name(where, "tops_per_mm2"));
        return e;
    }

private:
    const SearchProblem& p_;
};

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

// Restores the search from out_dir/checkpoint.json (resume): the cache, the hypervolume history
// and the population. Every field is validated against the space and the options first.
void Driver::load_checkpoint(pagmo::population& pop) {
    const std::string file = path("checkpoint.json");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        throw Error("search: cannot resume: " + file + " not found (run without --resume to start a search in " + o_.out_dir + ")");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_file(file));
        restore(j, pop);
    } catch (const Error& e) {
        throw Error(file + ": cannot resume: " + e.what());
    } catch (const std::exception& e) {
        throw Error(file + ": cannot resume, the checkpoint is damaged: " + e.what());
    }
}

void Driver::restore(const nlohmann::json& j, pagmo::population& pop) {
    using R = CheckpointReader;
    const R r(p_);
    constexpr int64_t kIntMax = std::numeric_limits<int>::max();
    if (R::integer(R::at(j, "version", ""), "version", 0, kIntMax) != 1) R::fail("version", "unsupported version " + j["version"].dump());
    if (j.at("space") != p_.space_text) throw Error("it belongs to a different space file");
    if (j.at("seed") != o_.seed) throw Error("it was made with seed " + j.at("seed").dump() + ", not " + std::to_string(o_.seed));
    if (j.at("population_size") != o_.population)
        throw Error("it has population " + j.at("population_size").dump() + ", not " + std::to_string(o_.population));
    generation_ = static_cast<int>(R::integer(R::at(j, "generation", ""), "generation", 0, kIntMax));
    if (generation_ > o_.generations)
        throw Error("it is at generation " + std::to_string(generation_) + ", beyond the " + std::to_string(o_.generations) +
                    " generations asked for (raise --generations or search.generations)");

    const auto& evaluated = R::array(R::at(j, "evaluated", ""), "evaluated");
    if (evaluated.empty() || evaluated.size() > static_cast<size_t>(kIntMax))
        R::fail("evaluated", "expected 1 to " + std::to_string(kIntMax) + " candidates");
    for (size_t i = 0; i < evaluated.size(); ++i) {
        const std::string where = "evaluated[" + std::to_string(i) + "]";
        const auto& e = evaluated[i];
        Candidate c;
        c.id = static_cast<int>(i);
        c.generation = static_cast<int>(R::integer(R::at(e, "generation", where), where + ".generation", 0, generation_));
        c.genome = r.genome(R::at(e, "genome", where), where + ".genome");
        c.feasible = R::boolean(R::at(e, "feasible", where), where + ".feasible");
        c.eval = r.evaluation(R::at(e, "eval", where), where + ".eval");
        // The cache holds each genome once; a repeat would give two ids to one design.
        if (!index_.emplace(c.genome, c.id).second) R::fail(where + ".genome", "repeats candidate " + std::to_string(index_.at(c.genome)));
        result_.evaluated.push_back(std::move(c));
    }
    const auto count = static_cast<int64_t>(result_.evaluated.size());
    result_.baseline_id = static_cast<int>(R::integer(R::at(j, "baseline_id", ""), "baseline_id", 0, count - 1));
    if (result_.evaluated[static_cast<size_t>(result_.baseline_id)].genome != p_.baseline)
        R::fail("baseline_id", "candidate " + std::to_string(result_.baseline_id) + " is not the space's baseline");

    // One entry per generation 0..generation; the counts grow and end at every candidate.
    const size_t entries = static_cast<size_t>(generation_) + 1;
    const auto& hv = R::array(R::at(j, "hypervolume", ""), "hypervolume");
    if (hv.size() != entries) R::fail("hypervolume", "has " + std::to_string(hv.size()) + " entries, not " + std::to_string(entries));
    for (size_t g = 0; g < hv.size(); ++g) result_.hypervolume.push_back(R::number(hv[g], "hypervolume[" + std::to_string(g) + "]"));
    const auto& by_gen = R::array(R::at(j, "evaluated_by_generation", ""), "evaluated_by_generation");
    if (by_gen.size() != entries)
        R::fail("evaluated_by_generation", "has " + std::to_string(by_gen.size()) + " entries, not " + std::to_string(entries));
    int64_t previous = 1;
    for (size_t g = 0; g < by_gen.size(); ++g) {
        const std::string field = "evaluated_by_generation[" + std::to_string(g) + "]";
        previous = R::integer(by_gen[g], field, previous, count);
        result_.evaluated_by_generation.push_back(previous);
    }
    if (previous != count)
        R::fail("evaluated_by_generation", "ends at " + std::to_string(previous) + ", not at the " + std::to_string(count) + " candidates");

    const auto& population = R::array(R::at(j, "population", ""), "population");
    if (population.size() != static_cast<size_t>(o_.population))
        R::fail("population", "has " + std::to_string(population.size()) + " members, not " + std::to_string(o_.population));
    for (size_t i = 0; i < population.size(); ++i) {
        const std::string where = "population[" + std::to_string(i) + "]";
        const Genome g = r.genome(R::at(population[i], "x", where), where + ".x");
        if (!index_.count(g)) R::fail(where + ".x", "is not among the evaluated candidates");
        const auto& f = R::array(R::at(population[i], "f", where), where + ".f");
        if (f.size() != p_.objectives.size())
            R::fail(where + ".f", "has " + std::to_string(f.size()) + " objectives, not " + std::to_string(p_.objectives.size()));
        pagmo::vector_double fv;
        for (size_t k = 0; k < f.size(); ++k) fv.push_back(R::number(f[k], where + ".f[" + std::to_string(k) + "]"));
        pop.push_back(to_x(g), fv);
    }
}

// The output directory: created if missing. A stale summary.json (from an earlier, complete run
// of a search now resumed) is removed before anything else is written, since summary.json is
// written last and marks a complete run: the CSVs of an unfinished or failed run must not sit
// next to one.
void Driver::prepare_out_dir() const {
    const std::filesystem::path out(o_.out_dir);
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw Error("search: cannot create the output directory " + o_.out_dir + ": " + ec.message());
    std::filesystem::remove(out / "summary.json", ec);
    if (ec) throw Error("search: cannot remove the previous " + (out / "summary.json").string() + ": " + ec.message());
}

// The problem as the driver relies on it (load_space guarantees this for a space file; a problem
// built in code gets the same checks): objectives distinct, every gene with choices, the baseline
// one of them.
void Driver::check_problem() const {
    if (p_.objectives.size() < 2 || p_.objectives.size() > 4) throw Error("search: give two to four objectives");
    for (size_t i = 0; i < p_.objectives.size(); ++i)
        if (std::count(p_.objectives.begin(), p_.objectives.end(), p_.objectives[i]) > 1)
            throw Error(std::string("search: the objective '") + objective_name(p_.objectives[i]) + "' repeats");
    if (p_.baseline.size() != p_.genes.size())
        throw Error("search: the baseline has " + std::to_string(p_.baseline.size()) + " genes, not " + std::to_string(p_.genes.size()));
    for (size_t i = 0; i < p_.genes.size(); ++i) {
        if (p_.genes[i].choices.empty()) throw Error("search: gene '" + p_.genes[i].name + "' has no choices");
        if (p_.baseline[i] < 0 || static_cast<size_t>(p_.baseline[i]) >= p_.genes[i].choices.size())
            throw Error("search: the baseline's gene '" + p_.genes[i].name + "' is not one of its choices");
    }
}

SearchResult Driver::run() {
    check_problem();
    if (o_.population < 8 || o_.population % 4 != 0)
        throw Error("search: the population (--population or search.population) must be a multiple of 4 and at least 8 (NSGA-II), got " +
                    std::to_string(o_.population));
    if (o_.generations < 0)
        throw Error("search: generations (--generations or search.generations) must be >= 0, got " + std::to_string(o_.generations));
    if (!(std::isfinite(o_.hv_reference) && o_.hv_reference > 0))
        throw Error("search: the hypervolume reference must be a positive cost ratio, got " + fmt(o_.hv_reference));
    std::error_code ec;
    if (std::filesystem::exists(o_.out_dir, ec) && !std::filesystem::is_directory(o_.out_dir, ec))
        throw Error("search: the output directory " + o_.out_dir + " is a file, not a directory");
    PagmoProblem udp;
    udp.driver = this;
    for (const auto& g : p_.genes) udp.upper.push_back(static_cast<double>(g.choices.size() - 1));
    udp.objectives = p_.objectives.size();
    pagmo::problem prob{udp};
    pagmo::population pop{prob, 0u, static_cast<unsigned>(o_.seed)};

    // A checkpoint is read before anything is written: a refused one leaves --out as it was.
    if (o_.resume) load_checkpoint(pop);
    prepare_out_dir();
    if (!o_.resume) {
        // Generation 0: the baseline first and alone (objectives are normalized by it), then the
        // random genomes as one batch. A baseline that cannot be measured leaves nothing to
        // compare with: stop before the population is spent on it.
        evaluate_new({p_.baseline});
        result_.baseline_id = 0;
        if (!baseline().ok) throw Error("search: the baseline design failed, nothing to compare with: " + baseline().reason);
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
    if (!o_.resume) report();
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
