// The co-search driver on a toy problem whose Pareto front is known in closed form, its
// constraint handling, resume, and the space-file errors.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

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
class ToyEvaluator final : public Evaluator {
public:
    int calls = 0;
    Evaluation evaluate(const Genome& g) override {
        ++calls;
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
    e = space_error("base_config: [\n");
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
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

}  // namespace
}  // namespace xbarsim::search
