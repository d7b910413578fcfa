// Calibration targets of the ADC laws (issue 6, deliverable 4): the per-conversion energies and
// area ratios NeuroSim V1.3's circuit fits give, within 2 %, from the technology files as shipped.
#include <cmath>

#include "cost_test_util.hpp"
#include "xbarsim/cost/adc_model.hpp"

namespace xbarsim::test {
namespace {

double energy(AdcType type, int bits, const std::string& node) { return cost::adc_cost(type, bits, tech_node(node)).energy_fj; }

TEST(CostCalibration, SarAt22nmMatchesNeuroSimPowerOverBPlusOneNanoseconds) {
    // (0.538·B + 4.3753) µW for (B + 1) ns, column resistance -> infinity.
    EXPECT_REL(energy(AdcType::Sar, 5, "22nm"), 42.4, 0.02);
    EXPECT_REL(energy(AdcType::Sar, 8, "22nm"), 78.1, 0.02);
    for (int b = 1; b <= 12; ++b) {
        EXPECT_REL(energy(AdcType::Sar, b, "22nm"), (0.538 * b + 4.3753) * (b + 1), 1e-9);
        EXPECT_DOUBLE_EQ(cost::adc_cost(AdcType::Sar, b, tech_node("22nm")).conversion_ns, b + 1.0);  // B + 1 cycles
    }
}

TEST(CostCalibration, FlashAt22nmIsOnePointSevenMicrowattsPerLevelForOneNanosecond) {
    EXPECT_REL(energy(AdcType::Flash, 4, "22nm"), 25.5, 0.02);
    EXPECT_REL(energy(AdcType::Flash, 5, "22nm"), 52.7, 0.02);
    EXPECT_REL(energy(AdcType::Flash, 6, "22nm"), 107.1, 0.02);
    const auto& t = tech_node("22nm");
    EXPECT_NEAR(cost::adc_cost(AdcType::Flash, 4, t).area_um2 / cost::adc_cost(AdcType::Flash, 5, t).area_um2, 15.0 / 31.0, 1e-12);
    EXPECT_DOUBLE_EQ(cost::adc_cost(AdcType::Flash, 6, t).conversion_ns, 1.0);  // one conversion per sensing cycle
}

TEST(CostCalibration, PerNodeSarAndFlashPowerFollowNeuroSim) {
    struct Node {
        const char* name;
        double sar_per_bit, sar_base, flash_per_level;
    };
    for (const Node n : {Node{"130nm", 8.4483, 65.243, 18.09}, Node{"65nm", 3.7506, 25.844, 8.4147},
                         Node{"32nm", 1.1294, 8.8998, 3.0875}, Node{"22nm", 0.538, 4.3753, 1.7}, Node{"7nm", 0.1061, 0.8847, 0.35}}) {
        for (int b : {3, 5, 8}) {
            // Power = energy over the conversion time: SAR (B + 1) ns, flash 1 ns per level.
            const auto& t = tech_node(n.name);
            EXPECT_REL(energy(AdcType::Sar, b, n.name) / ((b + 1) * t.sar.cycle_ns), n.sar_per_bit * b + n.sar_base, 0.02) << n.name;
            EXPECT_REL(energy(AdcType::Flash, b, n.name) / (std::ldexp(1.0, b) - 1) / t.flash.conversion_ns, n.flash_per_level, 0.02)
                << n.name;
        }
    }
}

TEST(CostCalibration, EveryTechnologyFileLoadsWithItsDeviceTable) {
    for (const char* node : {"130nm", "65nm", "32nm", "22nm", "7nm"}) {
        const auto& t = tech_node(node);
        EXPECT_EQ(t.name, node);
        for (const char* d : {"rram", "pcm", "sram", "fefet", "sonos"}) {
            ASSERT_TRUE(t.devices.count(d)) << node << " " << d;
            EXPECT_GT(t.devices.at(d).r_on_ohm, 0.0);
            EXPECT_GE(t.devices.at(d).on_off_ratio, 1.0);
            EXPECT_GT(t.devices.at(d).cell_area_f2, 0.0);
        }
    }
    // Smaller nodes: smaller transistors, ADCs of less energy.
    EXPECT_LT(tech_node("7nm").transistor_um2, tech_node("22nm").transistor_um2);
    EXPECT_LT(tech_node("22nm").transistor_um2, tech_node("32nm").transistor_um2);
    EXPECT_LT(energy(AdcType::Sar, 6, "7nm"), energy(AdcType::Sar, 6, "22nm"));
    EXPECT_LT(energy(AdcType::Sar, 6, "22nm"), energy(AdcType::Sar, 6, "32nm"));
}

}  // namespace
}  // namespace xbarsim::test
