// The co-search driver on a toy problem whose Pareto front is known in closed form, its
// constraint handling, resume, batch evaluation, and the space-file errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/search/search.hpp"
#include "xbarsim/search/space.hpp"

namespace xbarsim::search {
namespace {

// Genes x, y, z in 0..9 (1,000 genomes). accuracy = 0.5 + 0.05 x - 0.03 y, energy = 1 + x + y + z,
// area = 1 + x. With objectives (accuracy, energy) the front is y = z = 0, every x: raising x buys
// accuracy with energy; y and z only cost.
Evaluation toy_evaluation(const Genome& g) {
    if (g[2] == 7 && g[1] == 7) throw Error("toy evaluation failure");
    Evaluation e;
    e.accuracy = 0.5 + 0.05 * g[0] - 0.03 * g[1];
    e.energy_uj = 1.0 + g[0] + g[1] + g[2];
    e.area_mm2 = 1.0 + g[0];
    e.latency_us = 1.0;
    e.edap = e.energy_uj * e.latency_us * e.area_mm2;
    e.tops_per_w = 1.0 / e.energy_uj;
    e.tops_per_mm2 = 1.0 / e.area_mm2;
    return e;
}

class ToyEvaluator final : public Evaluator {
public:
    int calls = 0;
    Evaluation evaluate(const Genome& g) override {
        ++calls;
        return toy_evaluation(g);
    }
};

// The toy measured as a simulator evaluator does a batch: on `workers` threads, each taking the
// next candidate from the end of the batch (so the order of completion is scrambled), failures
// caught per candidate. It records the batches it was given. `failing_z` >= 0 makes every genome
// with that z fail too.
class BatchToyEvaluator final : public Evaluator {
public:
    explicit BatchToyEvaluator(int workers, int failing_z = -1) : workers_(workers), failing_z_(failing_z) {}
    std::vector<std::vector<Genome>> batches;
    Evaluation evaluate(const Genome&) override { throw Error("the driver must evaluate in batches"); }
    std::vector<Evaluation> evaluate_batch(const std::vector<Genome>& genomes) override {
        batches.push_back(genomes);
        std::vector<Evaluation> out(genomes.size());
        std::atomic<size_t> next{0};
        auto work = [&] {
            for (size_t k = next++; k < genomes.size(); k = next++) {
                const size_t i = genomes.size() - 1 - k;
                try {
                    if (genomes[i][2] == failing_z_) throw Error("toy batch failure");
                    out[i] = toy_evaluation(genomes[i]);
                } catch (const std::exception& e) {
                    out[i] = failed_evaluation(e.what());
                }
            }
        };
        std::vector<std::jthread> pool;
        for (int t = 1; t < workers_; ++t) pool.emplace_back(work);
        work();
        return out;
    }

private:
    int workers_, failing_z_;
};

SearchProblem toy_problem() {
    SearchProblem p;
    for (const char* n : {"x", "y", "z"}) {
        Gene g;
        g.name = g.key = n;
        for (int i = 0; i < 10; ++i) g.choices.push_back(std::to_string(i));
        p.genes.push_back(g);
    }
    p.baseline = {5, 5, 5};
    p.objectives = {Objective::Accuracy, Objective::Energy};
    p.space_text = "toy";
    return p;
}

std::set<Genome> front_genomes(const SearchResult& r) {
    std::set<Genome> s;
    for (int id : r.pareto) s.insert(r.evaluated[static_cast<size_t>(id)].genome);
    return s;
}

TEST(Search, FindsTheKnownParetoFrontOfAToyProblem) {
    test::TempDir dir;
    ToyEvaluator toy;
    SearchOptions o;
    o.out_dir = dir.file("out");
    o.population = 24;
    o.generations = 25;
    o.progress = false;
    const SearchResult r = run_search(toy_problem(), toy, o);
    std::set<Genome> want;
    for (int x = 0; x < 10; ++x) want.insert({x, 0, 0});
    EXPECT_EQ(front_genomes(r), want);
    // Each distinct genome is evaluated once, however often the population proposes it.
    EXPECT_EQ(static_cast<size_t>(toy.calls), r.evaluated.size());
    EXPECT_LT(r.evaluated.size(), 1000u);  // it searched, not enumerated
    EXPECT_EQ(r.hypervolume.size(), 26u);
    for (size_t g = 1; g < r.hypervolume.size(); ++g) EXPECT_GE(r.hypervolume[g], r.hypervolume[g - 1] - 1e-12);
    // The outputs: a header and one line per candidate / front member.
    std::istringstream ev(read_file(dir.file("out/evaluated.csv"))), pf(read_file(dir.file("out/pareto.csv")));
    std::string line;
    size_t lines = 0;
    while (std::getline(ev, line)) ++lines;
    EXPECT_EQ(lines, r.evaluated.size() + 1);
    lines = 0;
    while (std::getline(pf, line)) ++lines;
    EXPECT_EQ(lines, 11u);
    // The failing genomes are recorded as infeasible with their reason.
    bool saw_failure = false;
    for (const auto& c : r.evaluated)
        if (c.genome[1] == 7 && c.genome[2] == 7) {
            saw_failure = true;
            EXPECT_FALSE(c.feasible);
            EXPECT_EQ(c.eval.reason, "toy evaluation failure");
        }
    (void)saw_failure;  // whether the search proposed one is up to chance
}

TEST(Search, ConstraintsRemoveInfeasibleDesignsFromTheFront) {
    test::TempDir dir;
    ToyEvaluator toy;
    SearchProblem p = toy_problem();
    p.constraints.area_mm2_max = 8.0;  // x <= 7
    p.constraints.accuracy_min = 0.6;  // 0.05 x - 0.03 y >= 0.1: x >= 2 when y = 0
    SearchOptions o;
    o.out_dir = dir.file("out");
    o.population = 24;
    o.generations = 25;
    o.progress = false;
    const SearchResult r = run_search(p, toy, o);
    std::set<Genome> want;
    for (int x = 2; x <= 7; ++x) want.insert({x, 0, 0});
    EXPECT_EQ(front_genomes(r), want);
    for (const auto& c : r.evaluated) {
        const bool ok = c.genome[0] <= 7 && 0.05 * c.genome[0] - 0.03 * c.genome[1] >= 0.1 - 1e-12 && !(c.genome[1] == 7 && c.genome[2] == 7);
        EXPECT_EQ(c.feasible, ok) << c.genome[0] << c.genome[1] << c.genome[2] << " " << c.eval.reason;
    }
}

TEST(Search, ResumeContinuesExactlyAsAnUninterruptedRun) {
    test::TempDir dir;
    SearchOptions o;
    o.population = 16;
    o.progress = false;
    ToyEvaluator a, b;
    o.out_dir = dir.file("whole");
    o.generations = 8;
    run_search(toy_problem(), a, o);
    o.out_dir = dir.file("split");
    o.generations = 3;
    run_search(toy_problem(), b, o);
    o.generations = 8;
    o.resume = true;
    ToyEvaluator c;
    run_search(toy_problem(), c, o);
    for (const char* f : {"evaluated.csv", "pareto.csv", "hypervolume.csv", "checkpoint.json"})
        EXPECT_EQ(read_file(dir.file(std::string("split/") + f)), read_file(dir.file(std::string("whole/") + f))) << f;
    EXPECT_EQ(b.calls + c.calls, a.calls);  // the resumed part re-evaluated nothing
    // A checkpoint of another search is refused.
    SearchProblem other = toy_problem();
    other.space_text = "another";
    EXPECT_THROW(run_search(other, c, o), Error);
}

std::string outputs(const std::string& dir) {
    std::string all;
    for (const char* f : {"evaluated.csv", "pareto.csv", "hypervolume.csv", "checkpoint.json"}) all += read_file(dir + "/" + f);
    return all;
}

// A population's new candidates reach the evaluator together: the baseline alone, then the rest
// of the initial population, then each generation's offspring. However the evaluator schedules a
// batch (one thread or three, any order), the search and its files are those of one-at-a-time
// evaluation.
TEST(Search, BatchEvaluationGivesTheSameSearchWhateverTheWorkers) {
    test::TempDir dir;
    SearchOptions o;
    o.population = 16;
    o.generations = 6;
    o.progress = false;
    ToyEvaluator one_at_a_time;
    o.out_dir = dir.file("default");
    const SearchResult want = run_search(toy_problem(), one_at_a_time, o);
    for (int workers : {1, 3}) {
        BatchToyEvaluator batch(workers);
        o.out_dir = dir.file("workers" + std::to_string(workers));
        const SearchResult got = run_search(toy_problem(), batch, o);
        EXPECT_EQ(outputs(o.out_dir), outputs(dir.file("default"))) << workers << " workers";
        ASSERT_GE(batch.batches.size(), 3u);
        EXPECT_EQ(batch.batches[0], std::vector<Genome>{toy_problem().baseline});
        EXPECT_EQ(batch.batches[1].size(), 15u);
        // Offspring come in batches (NSGA-II makes a population's worth per generation); every
        // candidate was evaluated once, in one batch, and its id is its place in the batches.
        size_t largest = 0, evaluated = 0;
        for (size_t b = 2; b < batch.batches.size(); ++b) largest = std::max(largest, batch.batches[b].size());
        EXPECT_GT(largest, 1u);
        for (const auto& b : batch.batches)
            for (const Genome& g : b) EXPECT_EQ(got.evaluated.at(evaluated++).genome, g);
        EXPECT_EQ(evaluated, want.evaluated.size());
    }
}

// A failure inside a batch is that candidate's alone: it is recorded infeasible with its reason,
// the others of the batch are measured. The default evaluate_batch catches per candidate too.
TEST(Search, AFailingCandidateInABatchIsRecordedWhileTheOthersSucceed) {
    ToyEvaluator toy;
    const auto e = toy.evaluate_batch({{1, 1, 1}, {1, 7, 7}, {2, 2, 2}});
    ASSERT_EQ(e.size(), 3u);
    EXPECT_TRUE(e[0].ok);
    EXPECT_FALSE(e[1].ok);
    EXPECT_EQ(e[1].reason, "toy evaluation failure");
    EXPECT_TRUE(e[2].ok);
    EXPECT_DOUBLE_EQ(e[2].accuracy, 0.54);

    test::TempDir dir;
    SearchOptions o;
    o.out_dir = dir.file("out");
    o.population = 16;
    o.generations = 3;
    o.progress = false;
    BatchToyEvaluator batch(3, /*failing_z=*/3);
    const SearchResult r = run_search(toy_problem(), batch, o);
    std::map<Genome, const Candidate*> by_genome;
    for (const auto& c : r.evaluated) by_genome[c.genome] = &c;
    int mixed = 0;
    for (const auto& b : batch.batches) {
        const auto failing = std::count_if(b.begin(), b.end(), [](const Genome& g) { return g[2] == 3; });
        mixed += failing > 0 && failing < static_cast<long>(b.size());
        for (const Genome& g : b) {
            const Candidate& c = *by_genome.at(g);
            const bool fails = g[2] == 3 || (g[1] == 7 && g[2] == 7);
            EXPECT_EQ(c.feasible, !fails);
            EXPECT_EQ(c.eval.ok, !fails);
            if (g[2] == 3) {
                EXPECT_EQ(c.eval.reason, "toy batch failure");
            } else if (!fails) {
                EXPECT_DOUBLE_EQ(c.eval.accuracy, toy_evaluation(g).accuracy);
            }
        }
    }
    EXPECT_GT(mixed, 0);  // some batch held failing and succeeding candidates (fixed seed)
}

// An evaluator whose whole batch throws fails each candidate of that batch; the search goes on.
TEST(Search, ABatchThatThrowsFailsEachOfItsCandidates) {
    class Throwing final : public Evaluator {
    public:
        Evaluation evaluate(const Genome& g) override { return toy_evaluation(g); }
        std::vector<Evaluation> evaluate_batch(const std::vector<Genome>& genomes) override {
            if (genomes.size() > 1) throw Error("the whole batch broke");
            return {evaluate(genomes[0])};
        }
    } throwing;
    test::TempDir dir;
    SearchOptions o;
    o.out_dir = dir.file("out");
    o.population = 8;
    o.generations = 1;
    o.progress = false;
    const SearchResult r = run_search(toy_problem(), throwing, o);
    ASSERT_GT(r.evaluated.size(), 8u);
    EXPECT_TRUE(r.evaluated[0].feasible);  // the baseline, alone in its batch
    for (size_t i = 1; i < 8; ++i) {
        EXPECT_FALSE(r.evaluated[i].feasible);
        EXPECT_EQ(r.evaluated[i].eval.reason, "the whole batch broke");
    }
}

TEST(Search, RejectsBadOptions) {
    test::TempDir dir;
    ToyEvaluator toy;
    SearchOptions o;
    o.out_dir = dir.file("out");
    o.progress = false;
    o.population = 10;
    EXPECT_THROW(run_search(toy_problem(), toy, o), Error);
    o.population = 8;
    SearchProblem p = toy_problem();
    p.objectives = {Objective::Accuracy};
    EXPECT_THROW(run_search(p, toy, o), Error);
}

// ---------------------------------------------------------------- checkpoints and --out

// A finished toy search (population 8, one generation) to damage and resume.
nlohmann::json toy_checkpoint(const std::string& out) {
    ToyEvaluator toy;
    SearchOptions o;
    o.out_dir = out;
    o.population = 8;
    o.generations = 1;
    o.progress = false;
    run_search(toy_problem(), toy, o);
    return nlohmann::json::parse(read_file(out + "/checkpoint.json"));
}

// The error of a toy search of population 8 into `out` (empty when it succeeds), and how many
// candidates it evaluated.
std::pair<std::string, int> toy_search_error(const std::string& out, int generations, bool resume) {
    ToyEvaluator toy;
    SearchOptions o;
    o.out_dir = out;
    o.population = 8;
    o.generations = generations;
    o.progress = false;
    o.resume = resume;
    try {
        run_search(toy_problem(), toy, o);
    } catch (const Error& e) {
        return {e.what(), toy.calls};
    }
    return {"", toy.calls};
}

// The error of resuming from `checkpoint` (or "(no error)").
std::string resume_error(const std::string& out, const nlohmann::json& checkpoint, int generations = 2) {
    write_file_atomic(out + "/checkpoint.json", checkpoint.dump());
    const std::string e = toy_search_error(out, generations, true).first;
    return e.empty() ? "(no error)" : e;
}

// Every field of a damaged checkpoint is checked before it is used: an out-of-range id or gene
// index crashed the resume, a huge generation wrapped, a negative one was accepted. Each error
// names the checkpoint file and the field.
TEST(SearchCheckpoint, DamagedFieldsAreRefusedNamingTheField) {
    test::TempDir dir;
    const std::string out = dir.file("out");
    const nlohmann::json good = toy_checkpoint(out);
    using Edit = void (*)(nlohmann::json&);
    const std::vector<std::pair<Edit, std::string>> cases = {
        {[](nlohmann::json& j) { j["baseline_id"] = 1000000; }, "baseline_id"},
        {[](nlohmann::json& j) { j["baseline_id"] = 3; }, "baseline_id"},  // in range, but not the baseline
        {[](nlohmann::json& j) { j["evaluated"][0]["genome"] = {0}; }, "evaluated[0].genome"},
        {[](nlohmann::json& j) { j["evaluated"][2]["genome"] = {99, 99, 99}; }, "evaluated[2].genome[0]"},
        {[](nlohmann::json& j) { j["evaluated"][1]["genome"] = {0, -1, 0}; }, "evaluated[1].genome[1]"},
        {[](nlohmann::json& j) { j["evaluated"][1]["genome"] = {0, 0, 10}; }, "evaluated[1].genome[2]"},
        {[](nlohmann::json& j) { j["evaluated"][1]["genome"] = j["evaluated"][2]["genome"]; }, "evaluated[2].genome"},
        {[](nlohmann::json& j) { j["evaluated"][1]["generation"] = 7; }, "evaluated[1].generation"},
        {[](nlohmann::json& j) { j["evaluated"][1]["eval"]["accuracy"] = "high"; }, "evaluated[1].eval.accuracy"},
        {[](nlohmann::json& j) { j["generation"] = 2147483648ll; }, "generation"},
        {[](nlohmann::json& j) { j["generation"] = 18446744073709551615ull; }, "generation"},
        {[](nlohmann::json& j) { j["generation"] = -5; }, "generation"},
        {[](nlohmann::json& j) { j["generation"] = 1.5; }, "generation"},
        {[](nlohmann::json& j) { j["hypervolume"].push_back(0.5); }, "hypervolume"},
        {[](nlohmann::json& j) { j["evaluated_by_generation"][1] = -3; }, "evaluated_by_generation[1]"},
        {[](nlohmann::json& j) { j["evaluated_by_generation"][1] = 4000000000ll; }, "evaluated_by_generation[1]"},
        {[](nlohmann::json& j) { j["population"][3]["x"] = {1, 2}; }, "population[3].x"},
        {[](nlohmann::json& j) { j["population"][3]["f"] = {0.5}; }, "population[3].f"},
        {[](nlohmann::json& j) { j["population"].erase(0); }, "population"},
        {[](nlohmann::json& j) { j["population"] = 5; }, "population"},
        {[](nlohmann::json& j) { j.erase("evaluated"); }, "evaluated"},
    };
    for (const auto& [edit, field] : cases) {
        nlohmann::json bad = good;
        edit(bad);
        const std::string e = resume_error(out, bad);
        EXPECT_NE(e.find(out + "/checkpoint.json: cannot resume"), std::string::npos) << field << ": " << e;
        EXPECT_NE(e.find(field + ":"), std::string::npos) << field << ": " << e;
    }
    // The undamaged checkpoint still resumes, and generation 2 follows.
    EXPECT_EQ(resume_error(out, good), "(no error)");
    EXPECT_EQ(nlohmann::json::parse(read_file(out + "/checkpoint.json"))["generation"], 2);
    // A checkpoint further along than the generations asked for is refused, not silently kept.
    const std::string e = resume_error(out, nlohmann::json::parse(read_file(out + "/checkpoint.json")), 1);
    EXPECT_NE(e.find("it is at generation 2, beyond the 1 generations"), std::string::npos) << e;
}

// --resume needs a checkpoint: into a directory without one it is an error naming the file
// (it used to start a new search), and it creates nothing.
TEST(SearchCheckpoint, ResumeWithoutACheckpointIsAnError) {
    test::TempDir dir;
    const auto [e, calls] = toy_search_error(dir.file("none"), 1, true);
    EXPECT_NE(e.find(dir.file("none/checkpoint.json") + " not found"), std::string::npos) << e;
    EXPECT_EQ(calls, 0);
    EXPECT_FALSE(std::filesystem::exists(dir.file("none")));
}

// --out naming a regular file is a plain error naming it (it was a filesystem_error).
TEST(SearchCheckpoint, OutputDirectoryThatIsAFileIsAnError) {
    test::TempDir dir;
    std::ofstream(dir.file("plain")) << "x";
    const auto [e, calls] = toy_search_error(dir.file("plain"), 0, false);
    EXPECT_NE(e.find(dir.file("plain") + " is a file, not a directory"), std::string::npos) << e;
    EXPECT_EQ(calls, 0);
}

// summary.json is written last (by `xbarsim search`) and marks a complete run: a resumed search
// removes the previous one first, so that a resume that fails midway does not leave the new CSVs
// next to the old run's summary.
TEST(SearchCheckpoint, ResumeRemovesTheStaleSummary) {
    test::TempDir dir;
    const std::string out = dir.file("out");
    const nlohmann::json checkpoint = toy_checkpoint(out);
    std::ofstream(out + "/summary.json") << "{}\n";
    EXPECT_EQ(resume_error(out, checkpoint), "(no error)");
    EXPECT_FALSE(std::filesystem::exists(out + "/summary.json"));
}

// A baseline that cannot be evaluated leaves nothing to normalize by: the search stops before
// spending the population on it, and writes no results.
TEST(Search, AFailingBaselineStopsTheSearch) {
    test::TempDir dir;
    ToyEvaluator toy;
    SearchProblem p = toy_problem();
    p.baseline = {5, 7, 7};  // the toy's failing genomes
    SearchOptions o;
    o.out_dir = dir.file("out");
    o.population = 8;
    o.generations = 1;
    o.progress = false;
    try {
        run_search(p, toy, o);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        const std::string want = "the baseline design failed, nothing to compare with: toy evaluation failure";
        EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
    EXPECT_EQ(toy.calls, 1);
    for (const char* f : {"evaluated.csv", "pareto.csv", "hypervolume.csv", "checkpoint.json"})
        EXPECT_FALSE(std::filesystem::exists(dir.file(std::string("out/") + f))) << f;
}

// ---------------------------------------------------------------- space files

std::string space_error(const std::string& text) {
    test::TempDir dir;
    const std::string f = dir.file("s-space.yaml");
    std::ofstream(f) << text;
    try {
        load_space(f);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string valid_space() {
    return "base_config: " + test::repo("configs/ideal.yaml") + "\nnetworks: [" + test::repo("models/mnist_cnn6.onnx") +
           "]\nlayer_groups: 2\ngenes:\n  array_size: [64, 128]\ngroup_genes:\n  adc_bits: [4, 8]\n  analog: [true, false]\n"
           "baseline: {array_size: 128, adc_bits: 8, analog: true}\nobjectives: [accuracy, edap]\n";
}

TEST(SearchSpace, BadFilesNameTheKeyAndLine) {
    auto e = space_error(valid_space() + "colour: blue\n");
    EXPECT_NE(e.find("s-space.yaml:11"), std::string::npos) << e;
    EXPECT_NE(e.find("colour"), std::string::npos) << e;
    e = space_error(valid_space() + "constraints: {area_max: 3}\n");
    EXPECT_NE(e.find("constraints.area_max"), std::string::npos) << e;
    std::string t = valid_space();
    t.replace(t.find("adc_bits: 8, analog"), 11, "adc_bits: 6");
    e = space_error(t);
    EXPECT_NE(e.find("baseline.adc_bits"), std::string::npos) << e;
    EXPECT_NE(e.find("not one of the gene's choices"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("array_size: [64"), 10, "array_sighs");
    e = space_error(t);
    EXPECT_NE(e.find("genes.array_sighs"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("[4, 8]"), 6, "[4, x]");
    e = space_error(t);
    EXPECT_NE(e.find("group_genes.adc_bits"), std::string::npos) << e;
    EXPECT_NE(e.find("'x'"), std::string::npos) << e;
    e = space_error(valid_space() + "genes_extra: 1\n");
    EXPECT_NE(e.find("genes_extra"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("  analog: [true, false]"), std::string("  analog: [true, false]").size(), "  adc_method: [mse, median]");
    e = space_error(t);
    EXPECT_NE(e.find("group_genes.adc_method"), std::string::npos) << e;
    EXPECT_NE(e.find("'median'"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("layer_groups: 2\n"), 16, "");
    e = space_error(t);
    EXPECT_NE(e.find("needs layer_groups"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("[accuracy, edap]"), 16, "[accuracy]");
    e = space_error(t);
    EXPECT_NE(e.find("two to four"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("edap]"), 4, "beauty");
    e = space_error(t);
    EXPECT_NE(e.find("unknown objective 'beauty'"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("mnist_cnn6.onnx"), 15, "no_such_model.onnx");
    e = space_error(t);
    EXPECT_NE(e.find("no such file"), std::string::npos) << e;
    e = space_error(valid_space() + "fitness: {workers: 0}\n");
    EXPECT_NE(e.find("s-space.yaml:11"), std::string::npos) << e;
    EXPECT_NE(e.find("fitness.workers"), std::string::npos) << e;
    EXPECT_NE(e.find("must be a positive integer"), std::string::npos) << e;
    e = space_error(valid_space() + "fitness:\n  images: 10\n  workers: -2\n");
    EXPECT_NE(e.find("s-space.yaml:13"), std::string::npos) << e;
    EXPECT_NE(e.find("fitness.workers"), std::string::npos) << e;
    e = space_error(valid_space() + "fitness: {workers: 1.5}\n");
    EXPECT_NE(e.find("fitness.workers"), std::string::npos) << e;
    EXPECT_NE(e.find("expected an integer, got '1.5'"), std::string::npos) << e;
    e = space_error("base_config: [\n");
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

// Every choice is checked when the space loads, with the config loader's limits (they were only
// found per candidate, each recorded infeasible, the search exiting 0): the error names the space
// file, the gene and the choice's line.
TEST(SearchSpace, ChoicesOutsideTheConfigLimitsFailAtLoad) {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("dir.yaml"));
    std::ofstream(dir.file("syntax.yaml")) << "device: [\n";
    const std::string ideal = test::repo("configs/ideal.yaml");
    struct Case {
        std::string from, to, key;
        int line;  // of the bad choice
        std::string want;
    };
    const std::vector<Case> cases = {
        {"adc_bits: [4, 8]", "adc_bits: [4, 8, 30]", "group_genes.adc_bits", 7, "choice '30': must be 0 (not quantized) or 1..24"},
        {"adc_bits: [4, 8]", "adc_bits: [1, 8]", "group_genes.adc_bits", 7, "choice '1': a symmetric ADC needs at least 2 bits"},
        {"array_size: [64, 128]", "array_size: [64, 128]\n  weight_bits: [1, 8]", "genes.weight_bits", 6, "choice '1'"},
        {"array_size: [64, 128]", "array_size: [64, 128]\n  slices: [1,\n    99]", "genes.slices", 7, "choice '99'"},
        {"array_size: [64, 128]", "array_size: [64, 9223372036854775807]", "genes.array_size", 5, "must be an integer from 0 to 2147483647"},
        {"array_size: [64, 128]", "array_size: [64, 99999999999999999999]", "genes.array_size", 5, "must be an integer from 0 to 2147483647"},
        {"array_size: [64, 128]", "array_size: [64, 128]\n  device: [" + ideal + ", syntax.yaml]", "genes.device", 6, "YAML syntax error"},
        {"array_size: [64, 128]", "array_size: [64, 128]\n  device: [" + ideal + ", dir.yaml]", "genes.device", 6, "is not a regular file"},
    };
    for (const auto& c : cases) {
        std::string t = valid_space();
        t.replace(t.find(c.from), c.from.size(), c.to);
        if (c.key == "genes.weight_bits") t.replace(t.find("baseline: {"), 11, "baseline: {weight_bits: 8, ");
        if (c.key == "genes.slices") t.replace(t.find("baseline: {"), 11, "baseline: {slices: 1, ");
        if (c.key == "genes.device") t.replace(t.find("baseline: {"), 11, "baseline: {device: " + ideal + ", ");
        const std::string f = dir.file("s-space.yaml");
        std::ofstream(f) << t;
        std::string e = "(no error)";
        try {
            load_space(f);
        } catch (const Error& err) {
            e = err.what();
        }
        EXPECT_NE(e.find(f + ":" + std::to_string(c.line) + ": key '" + c.key + "'"), std::string::npos) << c.to << ": " << e;
        EXPECT_NE(e.find(c.want), std::string::npos) << c.to << ": " << e;
    }
}

// A limit that joins two genes (weight slices need quantized weights) does not reject a choice
// that works with another gene's choice: slices 2 with the baseline's unquantized weights fails,
// with weight_bits 8 it is valid, so the space loads; the combination is left to the candidates.
TEST(SearchSpace, AChoiceValidWithAnotherGenesChoiceLoads) {
    std::string t = valid_space();
    t.replace(t.find("array_size: [64, 128]"), 21, "array_size: [64, 128]\n  weight_bits: [0, 8]\n  slices: [1, 2]");
    t.replace(t.find("baseline: {"), 11, "baseline: {weight_bits: 0, slices: 1, ");
    EXPECT_EQ(space_error(t), "(no error)");
    // The baseline itself must be a valid design.
    t = valid_space();
    t.replace(t.find("array_size: [64, 128]"), 21, "array_size: [64, 128]\n  weight_bits: [0, 8]\n  slices: [1, 2]");
    t.replace(t.find("baseline: {"), 11, "baseline: {weight_bits: 0, slices: 2, ");
    const std::string e = space_error(t);
    EXPECT_NE(e.find("key 'baseline': the baseline design is not valid: bit slicing needs weight_bits > 0"), std::string::npos) << e;
}

// Out-of-range and nonsense numbers fail at load naming key and line; integers that do not fit
// are refused, not wrapped (a population of 4294967304 became 8).
TEST(SearchSpace, NumbersOutOfRangeNameTheKeyAndLine) {
    struct Case {
        std::string append, want;
    };
    const std::vector<Case> cases = {
        {"search: {population: 4294967304}\n", "s-space.yaml:11: key 'search.population': must be a multiple of 4 from 8 to 2147483647"},
        {"search: {population: -8}\n", "s-space.yaml:11: key 'search.population'"},
        {"search: {population: 10}\n", "s-space.yaml:11: key 'search.population'"},
        {"search:\n  seed: 3\n  generations: -3\n", "s-space.yaml:13: key 'search.generations': must be 0 to 2147483647, got -3"},
        {"search: {generations: 4294967296}\n", "key 'search.generations'"},
        {"search: {seed: -1}\n", "key 'search.seed': must not be negative"},
        {"search: {hv_reference: .nan}\n", "s-space.yaml:11: key 'search.hv_reference'"},
        {"search: {hv_reference: -1}\n", "key 'search.hv_reference'"},
        {"constraints: {accuracy_loss_max: .nan}\n", "s-space.yaml:11: key 'constraints.accuracy_loss_max'"},
        {"constraints: {area_mm2_max: -5}\n", "s-space.yaml:11: key 'constraints.area_mm2_max'"},
        {"constraints: {area_mm2_max: .inf}\n", "key 'constraints.area_mm2_max'"},
        {"constraints: {accuracy_min: 2}\n", "s-space.yaml:11: key 'constraints.accuracy_min'"},
        {"fitness: {backend: gpu}\n", "s-space.yaml:11: key 'fitness.backend': unknown backend 'gpu'"},
        {"layer_groups_extra: 1\n", "layer_groups_extra"},
    };
    for (const auto& c : cases) {
        const std::string e = space_error(valid_space() + c.append);
        EXPECT_NE(e.find(c.want), std::string::npos) << c.append << e;
    }
    std::string t = valid_space();
    t.replace(t.find("[accuracy, edap]"), 16, "[accuracy, accuracy]");
    std::string e = space_error(t);
    EXPECT_NE(e.find("s-space.yaml:10: key 'objectives': 'accuracy' repeats"), std::string::npos) << e;
    t = valid_space();
    t.replace(t.find("layer_groups: 2"), 15, "layer_groups: 4294967298");
    e = space_error(t);
    EXPECT_NE(e.find("s-space.yaml:3: key 'layer_groups'"), std::string::npos) << e;
}

// What would fail every candidate, or the final re-evaluation after the whole search, fails at
// load or when the evaluator is made, before any output exists: a broken or directory
// base_config, a missing or truncated final.data, a network that is not ONNX or does not take
// the fitness data.
TEST(SearchSpace, BrokenFilesFailBeforeTheSearch) {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("cfgdir"));
    std::ofstream(dir.file("syntax.yaml")) << "analog: [\n";
    std::ofstream(dir.file("random.onnx")) << "this is not a protobuf \x01\x02\x03";
    std::filesystem::create_directories(dir.file("nofiles"));  // a dataset.yaml whose files are missing
    std::ofstream(dir.file("nofiles/dataset.yaml")) << read_file(test::repo("data/mnist-test/dataset.yaml"));
    const std::string space = valid_space();
    auto with = [&](const std::string& from, const std::string& to) {
        std::string t = space;
        t.replace(t.find(from), from.size(), to);
        return t;
    };
    const std::string ideal = test::repo("configs/ideal.yaml");
    std::string e = space_error(with(ideal, dir.file("cfgdir")));
    EXPECT_NE(e.find("s-space.yaml:1: key 'base_config': " + dir.file("cfgdir") + " is not a regular file"), std::string::npos) << e;
    e = space_error(with(ideal, dir.file("syntax.yaml")));
    EXPECT_NE(e.find("s-space.yaml:1: key 'base_config': cannot load"), std::string::npos) << e;
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
    e = space_error(space + "final: {data: " + dir.file("nope") + "}\n");
    EXPECT_NE(e.find("s-space.yaml:11: key 'final.data': cannot open the dataset"), std::string::npos) << e;
    e = space_error(space + "final: {data: " + dir.file("nofiles") + "}\n");
    EXPECT_NE(e.find("key 'final.data': cannot open the dataset"), std::string::npos) << e;

    // Networks: load_space finds the files; the evaluator loads them against the data. No
    // candidate is measured and no output is written.
    const std::string data = test::repo("data/mnist-calib");
    for (const std::string& model : {dir.file("random.onnx"), test::repo("models/resnet20v1_cifar10.onnx")}) {
        const std::string f = dir.file("n-space.yaml");
        std::ofstream(f) << with(test::repo("models/mnist_cnn6.onnx"), model);
        const SearchSpace s = load_space(f);
        try {
            SimulatorEvaluator evaluator(s, data);
            ADD_FAILURE() << model << ": no error";
        } catch (const Error& err) {
            EXPECT_NE(std::string(err.what()).find(model), std::string::npos) << err.what();
            EXPECT_NE(std::string(err.what()).find("n-space.yaml: key 'networks[0]': "), std::string::npos) << err.what();
        }
    }
    // A layer_groups entry that selects no layer of a network (its group genes would do nothing).
    {
        const std::string f = dir.file("g-space.yaml");
        std::ofstream(f) << with("layer_groups: 2", "layer_groups: [conv*, no_such_layer]");
        const SearchSpace s = load_space(f);
        try {
            SimulatorEvaluator evaluator(s, data);
            ADD_FAILURE() << "layer_groups: no error";
        } catch (const Error& err) {
            EXPECT_NE(std::string(err.what()).find("g-space.yaml: key 'layer_groups[1]': 'no_such_layer' matches no"), std::string::npos)
                << err.what();
        }
    }
    // A final.data the networks cannot take fails when the evaluator is made, not after the search.
    const std::string f = dir.file("t-space.yaml");
    std::ofstream(f) << space << "final: {data: " << test::repo("data/cifar10-test") << "}\n";
    if (std::filesystem::exists(test::repo("data/cifar10-test/dataset.yaml"))) {
        const SearchSpace s = load_space(f);
        EXPECT_THROW(SimulatorEvaluator(s, data), Error);
    }
}

// A genome becomes per-layer overrides of the base config: groups split the layers in halves,
// and the plan the simulator builds carries exactly the chosen values.
TEST(SearchSpace, GenomesBecomeLayerOverrides) {
    test::TempDir dir;
    const std::string f = dir.file("s-space.yaml");
    std::ofstream(f) << valid_space();
    const SearchSpace s = load_space(f);
    ASSERT_EQ(s.problem.genes.size(), 5u);  // array_size, then per group: adc_bits, analog
    EXPECT_EQ(s.problem.genes[1].name, "g0.adc_bits");
    EXPECT_EQ(s.problem.genes[4].name, "g1.analog");
    EXPECT_EQ(s.problem.baseline, (Genome{1, 1, 0, 1, 0}));
    const Graph g = load_onnx(test::repo("models/mnist_cnn6.onnx"));  // 6 MVM layers: groups 0,0,0,1,1,1
    const Genome genome{0, 0, 0, 1, 1};  // 64x64 arrays; group 0: 4-bit ADC analog; group 1: digital
    const Config c = design_config(s, genome, g);
    const AnalogPlan p = make_analog_plan(g, c.analog, 1);
    ASSERT_EQ(p.layers.size(), 3u);  // the second half is digital
    for (const auto& l : p.layers) {
        EXPECT_LT(l.mvm_index, 3);
        EXPECT_EQ(l.config.adc_bits, 4);
        EXPECT_EQ(l.config.mapping.array_rows, 64);
        EXPECT_EQ(l.config.mapping.array_cols, 64);
    }
    EXPECT_EQ(layer_group(s, "x", 5, 6), 1);
    EXPECT_EQ(layer_group(s, "x", 2, 6), 0);
}

// ---------------------------------------------------------------- the simulator's batches

// A small MNIST space on the CPU backend where some combinations of genes fail (weight slices
// need quantized weights: slices 2 with weight_bits 0), so that some candidates fail while the
// others are measured. Each choice alone is valid, so the space loads.
SearchSpace mnist_batch_space(const test::TempDir& dir, int64_t workers) {
    const std::string ideal = test::repo("configs/ideal.yaml");
    std::ofstream(dir.file("b-space.yaml"))
        << "base_config: " << ideal << "\nnetworks: [" << test::repo("models/mnist_cnn6.onnx") << "]\nlayer_groups: 2\n"
        << "genes:\n  array_size: [64, 128]\n  device: [" << ideal << ", " << test::repo("configs/pcm.yaml") << "]\n"
        << "  slices: [1, 2]\n  weight_bits: [8, 0]\n"
        << "group_genes:\n  adc_bits: [3, 4, 8]\n"
        << "baseline: {array_size: 128, device: " << ideal << ", slices: 1, weight_bits: 8, adc_bits: 8}\nobjectives: [accuracy, edap]\n"
        << "fitness: {images: 40, trials: 1, calibration_images: 20, batch: 20, backend: cpu, workers: " << workers << "}\n";
    return load_space(dir.file("b-space.yaml"));
}

// However many candidates are measured at once, the search is the same, byte for byte. (The
// initial population is one batch of 7 after the baseline; later batches go the same way.)
TEST(SearchEvaluator, SameSearchWithOneOrThreeWorkers) {
    test::TempDir dir;
    std::string first;
    for (int64_t workers : {1, 3}) {
        const SearchSpace space = mnist_batch_space(dir, workers);
        SimulatorEvaluator evaluator(space, test::repo("data/mnist-calib"));
        EXPECT_EQ(evaluator.workers(), workers);
        SearchOptions o;
        o.out_dir = dir.file("w" + std::to_string(workers));
        o.population = 8;
        o.generations = 0;
        o.progress = false;
        const SearchResult r = run_search(space.problem, evaluator, o);
        const std::string csv = read_file(o.out_dir + "/evaluated.csv");
        if (first.empty()) {
            first = csv;
            // The batches held failing and measured candidates.
            EXPECT_TRUE(std::any_of(r.evaluated.begin(), r.evaluated.end(), [](const Candidate& c) { return !c.eval.ok; }));
            EXPECT_GT(std::count_if(r.evaluated.begin(), r.evaluated.end(), [](const Candidate& c) { return c.feasible; }), 1);
        }
        EXPECT_EQ(csv, first) << workers << " workers";
        for (const char* f : {"pareto.csv", "hypervolume.csv"})
            EXPECT_EQ(read_file(o.out_dir + "/" + f), read_file(dir.file("w1/") + f)) << f << ", " << workers << " workers";
    }
}

// A candidate that fails inside a batch fails alone, with its reason; the others come out as
// they do one at a time.
TEST(SearchEvaluator, AFailingCandidateInABatchFailsAlone) {
    test::TempDir dir;
    const SearchSpace space = mnist_batch_space(dir, 2);
    SimulatorEvaluator evaluator(space, test::repo("data/mnist-calib"));
    // Genes: array_size, device, slices, weight_bits, g0.adc_bits, g1.adc_bits.
    const std::vector<Genome> batch = {space.problem.baseline, {1, 1, 1, 1, 2, 2}, {0, 1, 0, 0, 1, 2}};
    const auto e = evaluator.evaluate_batch(batch);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_FALSE(e[1].ok);
    EXPECT_NE(e[1].reason.find("weight_bits > 0"), std::string::npos) << e[1].reason;
    for (size_t i : {0u, 2u}) {
        ASSERT_TRUE(e[i].ok) << e[i].reason;
        const Evaluation alone = evaluator.evaluate(batch[i]);
        EXPECT_EQ(e[i].accuracy, alone.accuracy) << i;
        EXPECT_EQ(e[i].edap, alone.edap) << i;
        EXPECT_EQ(e[i].area_mm2, alone.area_mm2) << i;
    }
    EXPECT_GT(e[0].accuracy, 0.9);
}

}  // namespace
}  // namespace xbarsim::search
