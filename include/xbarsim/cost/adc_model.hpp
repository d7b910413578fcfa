#pragma once
// Closed-form ADC laws of the cost model (docs/cost.md, "ADC"), one function per quantity so that
// the calibration tests check each against its published form:
//   flash  energy = P_level·(2^B − 1)·t_conv,          area ∝ 2^B − 1,  time t_conv
//   SAR    energy = (a + b·B)·(B + 1)·t_cycle,          area ∝ a + b·B,  time (B + 1)·t_cycle
//   ramp   energy = P_comp·2^B·t_step + B latch writes, area: comparator + B-bit latch per ADC and
//          one ramp generator per array, time 2^B·t_step
#include "xbarsim/analog_config.hpp"
#include "xbarsim/cost/tech.hpp"

namespace xbarsim::cost {

struct AdcCost {
    double energy_fj = 0;            // one conversion
    double conversion_ns = 0;        // one conversion
    double area_um2 = 0;             // one ADC
    double array_area_um2 = 0;       // shared by the ADCs of one array (ramp generator and counter)
    double array_energy_fj = 0;      // per array and conversion step (ramp generator)
};

// Throws Error for bits < 1 (an ideal ADC has no circuit to cost).
AdcCost adc_cost(AdcType type, int bits, const TechParams& tech);

const char* adc_type_name(AdcType type);  // "flash", "sar", "ramp"

}  // namespace xbarsim::cost
