// ADC laws of the cost model; constants come from the technology file (configs/tech/*.yaml).
#include "xbarsim/cost/adc_model.hpp"

#include <cmath>
#include <string>

#include "xbarsim/error.hpp"

namespace xbarsim::cost {

const char* adc_type_name(AdcType type) {
    switch (type) {
    case AdcType::Flash: return "flash";
    case AdcType::Sar: return "sar";
    case AdcType::Ramp: return "ramp";
    }
    return "?";
}

AdcCost adc_cost(AdcType type, int bits, const TechParams& tech) {
    if (bits < 1 || bits > 24)
        throw Error("cost model: ADC of " + std::to_string(bits) + " bits (an ideal ADC, adc.bits: 0, has no circuit to cost)");
    AdcCost a;
    const double b = bits;
    switch (type) {
    case AdcType::Flash: {
        // 2^B - 1 comparators fire in parallel: energy and area scale with the level count.
        const double levels = std::ldexp(1.0, bits) - 1.0;
        a.conversion_ns = tech.flash.conversion_ns;
        a.energy_fj = tech.flash.power_uw_per_level * levels * a.conversion_ns;  // µW·ns = fJ
        a.area_um2 = tech.cmos_um2(tech.flash.transistors_per_level * levels);
        break;
    }
    case AdcType::Sar: {
        // One comparator and a B-bit capacitive DAC resolve one bit per cycle, plus a sampling cycle.
        a.conversion_ns = (b + 1.0) * tech.sar.cycle_ns;
        a.energy_fj = (tech.sar.power_uw_base + tech.sar.power_uw_per_bit * b) * a.conversion_ns;
        a.area_um2 = tech.cmos_um2(tech.sar.transistors_base + tech.sar.transistors_per_bit * b);
        break;
    }
    case AdcType::Ramp: {
        // A shared ramp sweeps 2^B steps; each ADC's comparator latches the shared counter when the
        // ramp crosses its input.
        const double steps = std::ldexp(1.0, bits);
        a.conversion_ns = steps * tech.ramp.step_ns;
        a.energy_fj = tech.ramp.comparator_power_uw * a.conversion_ns + b * tech.register_bit_fj;
        a.area_um2 = tech.cmos_um2(tech.ramp.comparator_transistors + tech.ramp.latch_transistors_per_bit * b);
        a.array_area_um2 = tech.cmos_um2(tech.ramp.generator_transistors);
        a.array_energy_fj = tech.ramp.generator_power_uw * a.conversion_ns;
        break;
    }
    }
    return a;
}

}  // namespace xbarsim::cost
