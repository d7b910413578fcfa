// evaluate_trials: chips grouped as the backend allows, rows split per chip, results in trial
// order. A wrapper backend evaluates "chips" whose class scores are the digital network's rolled by
// the trial id, so each chip's expected predictions are known exactly.
#include <algorithm>
#include <numeric>

#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::test {
namespace {

class RollingChips final : public Backend {
public:
    explicit RollingChips(int64_t max_chips) : inner_(make_backend("cpu")), max_chips_(max_chips) {}
    std::string name() const override { return "rolling"; }
    void load(const Graph& graph, const AnalogPlan* plan) override { inner_->load(graph, plan); }
    void program(uint32_t trial) override { chips_ = {trial}; }
    int64_t max_chips() const override { return max_chips_; }
    void program_chips(const std::vector<uint32_t>& trials) override {
        if (static_cast<int64_t>(trials.size()) > max_chips_) throw Error("too many chips");
        chips_ = trials;
        ++passes;
    }
    void observe(MvmObserver* observer) override { inner_->observe(observer); }
    void record_gemms(std::vector<GemmShape>* log) override { inner_->record_gemms(log); }
    using Backend::forward;
    std::vector<Tensor> forward(const std::vector<Tensor>& inputs, const std::vector<int>& extra) override {
        const Tensor scores = inner_->forward(inputs, extra).at(0);
        const int64_t n = scores.dim(0), classes = scores.dim(1);
        Tensor out({static_cast<int64_t>(chips_.size()) * n, classes});
        for (size_t c = 0; c < chips_.size(); ++c)
            for (int64_t i = 0; i < n; ++i)
                for (int64_t k = 0; k < classes; ++k)
                    out.data[static_cast<size_t>((static_cast<int64_t>(c) * n + i) * classes + (k + chips_[c]) % classes)] =
                        scores.data[static_cast<size_t>(i * classes + k)];
        return {out};
    }
    int passes = 0;

private:
    std::unique_ptr<Backend> inner_;
    int64_t max_chips_;
    std::vector<uint32_t> chips_{0};
};

struct Mnist {
    Graph graph = load_onnx(repo("models/mnist_cnn6.onnx"));
    std::unique_ptr<Dataset> data = open_dataset(repo("data/mnist-test"));
    PreprocessSpec pre = resolve_preprocess(graph, data->info());
};

TEST(EvaluateTrials, GroupsChipsAndSplitsTheirRows) {
    Mnist m;
    EvalOptions o;
    o.images = 70;
    o.batch = 32;  // 32 + 32 + 6: the last batch is short
    o.progress = false;
    auto cpu = make_backend("cpu");
    cpu->load(m.graph);
    const EvalResult digital = evaluate(m.graph, *cpu, *m.data, m.pre, o);
    RollingChips chips(3);
    chips.load(m.graph, nullptr);
    const std::vector<uint32_t> trials{0, 1, 2, 7, 3};
    const auto results = evaluate_trials(m.graph, chips, *m.data, m.pre, o, trials);
    EXPECT_EQ(chips.passes, 2);  // 3 chips, then 2
    ASSERT_EQ(results.size(), trials.size());
    for (size_t t = 0; t < trials.size(); ++t) {
        SCOPED_TRACE("trial " + std::to_string(trials[t]));
        ASSERT_EQ(results[t].images, 70);
        ASSERT_EQ(results[t].predictions.size(), digital.predictions.size());
        for (size_t i = 0; i < digital.predictions.size(); ++i)
            EXPECT_EQ(results[t].predictions[i], static_cast<int32_t>((digital.predictions[i] + trials[t]) % 10));
    }
    EXPECT_EQ(results[0].top1_correct, digital.top1_correct);  // trial 0 is the digital network itself
}

TEST(EvaluateTrials, RespectsTheChipsPerPassLimit) {
    Mnist m;
    EvalOptions o;
    o.images = 10;
    o.progress = false;
    o.max_chips = 2;
    RollingChips chips(8);
    chips.load(m.graph, nullptr);
    const auto results = evaluate_trials(m.graph, chips, *m.data, m.pre, o, {0, 1, 2, 3, 4});
    EXPECT_EQ(chips.passes, 3);  // 2 + 2 + 1
    EXPECT_EQ(results.size(), 5u);
}

TEST(EvaluateTrials, OneChipBackendsTakeOneTrialPerPass) {
    Mnist m;
    auto cpu = make_backend("cpu");
    cpu->load(m.graph);
    EXPECT_EQ(cpu->max_chips(), 1);
    try {
        cpu->program_chips({0, 1});
        FAIL() << "two chips on the CPU backend did not throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("one chip instance per pass"), std::string::npos) << e.what();
    }
    EvalOptions o;
    o.images = 20;
    o.progress = false;
    const auto results = evaluate_trials(m.graph, *cpu, *m.data, m.pre, o, {0, 1, 2});
    ASSERT_EQ(results.size(), 3u);
    for (const auto& r : results) EXPECT_EQ(r.predictions, results[0].predictions);  // digital: chips are alike
}

}  // namespace
}  // namespace xbarsim::test
