// The analog layer on the GPU. Every step names the lines of AnalogMatrix it mirrors; the
// element-wise arithmetic is the shared code of quantize.hpp, device_model.hpp and mvm_math.hpp.
#include "cuda_analog_layer.cuh"

#include <algorithm>
#include <string>

#include "cuda_check.cuh"
#include "xbarsim/analog/mvm_math.hpp"
#include "xbarsim/fast_divmod.hpp"
#include "xbarsim/analog/recombine.hpp"
#include "xbarsim/analog/rng.hpp"

namespace xbarsim::cuda {

namespace {

#define XBARSIM_GRID_STRIDE(i, total)                                                              \
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (total);   \
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// AnalogMatrix::program, per cell of one weight slice: programming error, drift and the PCM
// accumulated read noise per polarity; effective conductance and read-noise variance of the pair;
// the per-cell reads right after programming and at time t for drift compensation.
__global__ void program_kernel(const float* __restrict__ targets, int64_t count, int polarities, int stored, bool offset,
                               analog::DeviceParams device, uint64_t element_base, uint64_t slice, uint64_t seed,
                               uint32_t trial, uint32_t layer, float t, double* __restrict__ g, double* __restrict__ var,
                               float* __restrict__ at0, float* __restrict__ at_t) {
    const RngStream prog{seed, trial, layer, RngRole::Programming};
    const RngStream drift{seed, trial, layer, RngRole::Drift};
    const RngStream accumulated{seed, trial, layer, RngRole::AccumulatedReadNoise};
    XBARSIM_GRID_STRIDE(i, count) {
        float now[2] = {0.0f, 0.0f};
        for (int p = 0; p < polarities; ++p) {
            const float target = targets[p * count + i];
            const uint64_t e = analog::programming_element(element_base, slice, static_cast<uint64_t>(polarities),
                                                           static_cast<uint64_t>(p), static_cast<uint64_t>(count),
                                                           static_cast<uint64_t>(i));
            const float programmed = analog::apply_programming(device, target, prog.normal(e), prog.uniform(e, 1));
            const float nu = analog::drift_nu(device, target, drift.normal(e));
            const float z = accumulated.normal(e);
            now[p] = analog::conductance_at_time(device, programmed, nu, t, z);
            if (at0) {
                at0[p * count + i] = analog::conductance_at_time(device, programmed, nu, 0.0f, z);
                at_t[p * count + i] = now[p];
            }
        }
        // Float values held in double for the array sums (as AnalogMatrix::g_).
        if (stored == 2) {  // separately digitized pair: g+ and g- kept apart
            g[i] = now[0];
            g[count + i] = now[1];
            if (var) {
                var[i] = analog::cell_read_variance(device, now[0]);
                var[count + i] = analog::cell_read_variance(device, now[1]);
            }
        } else {
            g[i] = analog::pair_conductance(offset, now[0], now[1]);
            if (var) var[i] = analog::pair_read_variance(device, offset, now[0], now[1]);
        }
    }
}

// The reference reads of every array of one slice, summed in double in exactly the CPU's order
// (cells by increasing index o*K + j, polarities inner), so the scales are bit-identical. One
// thread per array: a few tens of thousands of serial adds, once per chip instance.
__global__ void compensation_kernel(const float* __restrict__ at0, const float* __restrict__ at_t, int64_t n, int64_t k,
                                    int polarities, int64_t rows, int64_t cols, int64_t rb_count, int64_t cb_count,
                                    analog::DeviceParams device, float* __restrict__ compensation) {
    const int64_t count = n * k;
    XBARSIM_GRID_STRIDE(blk, rb_count * cb_count) {
        const int64_t rb = blk / cb_count, cb = blk % cb_count;
        const int64_t o_end = min(n, (cb + 1) * cols), j_end = min(k, (rb + 1) * rows);
        double ref0 = 0.0, ref_t = 0.0;
        for (int64_t o = cb * cols; o < o_end; ++o)
            for (int64_t j = rb * rows; j < j_end; ++j)
                for (int p = 0; p < polarities; ++p) {
                    ref0 = analog::dadd(ref0, static_cast<double>(at0[p * count + o * k + j]));
                    ref_t = analog::dadd(ref_t, static_cast<double>(at_t[p * count + o * k + j]));
                }
        compensation[blk] = analog::drift_compensation_scale(device, static_cast<float>(ref0), static_cast<float>(ref_t));
    }
}

// The driven input of every DAC'd input (bit-serial slice js, or the input itself) in double for
// the array sums, and (for read noise) its float square in double.
__global__ void input_slice_kernel(const float* __restrict__ xq, int64_t total, int32_t n_x, int js, int slice_bits,
                                   double* __restrict__ out, double* __restrict__ square) {
    XBARSIM_GRID_STRIDE(i, total) {
        const float v = slice_bits > 0 ? analog::input_slice_value(xq[i], n_x, js, slice_bits) : xq[i];
        out[i] = v;
        if (square) square[i] = hd::mul(v, v);
    }
}

// Σ_j x[j, c] over each row block's rows, in float and in increasing j as on the CPU:
// colsum[rb*m + c]. rb_count = 1 with rows = K gives the sum over all inputs. `x` holds float
// values (as float, or in double).
template <class T>
__global__ void column_sum_kernel(const T* __restrict__ x, int64_t k, int64_t m, int64_t rows, int64_t rb_count,
                                  float* __restrict__ colsum) {
    XBARSIM_GRID_STRIDE(t, rb_count * m) {
        const int64_t rb = t / m, c = t % m;
        const int64_t j_end = min(k, (rb + 1) * rows);
        float s = 0.0f;
        for (int64_t j = rb * rows; j < j_end; ++j) s = hd::add(s, static_cast<float>(x[j * m + c]));
        colsum[t] = s;
    }
}

// Per-cell read noise (validation mode): every cell of the row block gets its own draw per input
// vector, part[rb][o, c] += Σ_j sqrt(var_oj)·z·x_jc (double sum, CPU order). `part` points at
// this polarity's [N x m] block of row block 0; row blocks are `rb_stride` floats apart.
__global__ void per_cell_noise_kernel(const double* __restrict__ var, const double* __restrict__ x, int64_t n, int64_t k,
                                      int64_t m, int64_t rows, int64_t rb_count, RngStream noise, uint64_t cell_base,
                                      uint64_t first_column, double* __restrict__ part, int64_t rb_stride) {
    XBARSIM_GRID_STRIDE(t, rb_count * n * m) {
        const int64_t c = t % m, o = (t / m) % n, rb = t / (m * n);
        const int64_t j_end = min(k, (rb + 1) * rows);
        const auto sample = static_cast<uint32_t>(first_column + static_cast<uint64_t>(c));
        double sum = 0.0;
        for (int64_t j = rb * rows; j < j_end; ++j) {
            const auto v = static_cast<float>(var[o * k + j]);
            if (v <= 0.0f) continue;
            const float z = noise.normal(cell_base + static_cast<uint64_t>(o * k + j), sample);
            sum = analog::dadd(sum, analog::dmul(static_cast<double>(hd::mul(hd::sqrt(v), z)), x[j * m + c]));
        }
        // The array sum rounded to float, plus the noise (AnalogMatrix: part += float(sum)).
        double& out = part[rb * rb_stride + o * m + c];
        out = hd::add(static_cast<float>(out), static_cast<float>(sum));
    }
}

struct FusedArgs {
    const double* part;      // [rb][polarity][N x m] array sums before the ADC (float values after rounding)
    const double* part_var;  // the same layout: lumped read-noise variances, or null
    const double* ref_part;  // [rb][col block x m] reference-column sums, or null (no reference columns)
    const double* ref_var;   // the same layout: their lumped read-noise variances, or null
    const float* held;       // [rb][polarity][N x m] analog-accumulated outputs to convert, or null (convert part)
    const float* colsum;     // [rb][m] input sums per row block, or null (base 0)
    const float* comp;       // this slice's [rb x cb] drift compensation, or null
    const float* column_hi;  // this slice's per-column ADC ranges [N], or null
    const float* column_lo;  // [N], or null (-hi)
    double* acc;             // [N x m] running sum of the slices' terms
    bool first;              // the first (input slice, weight slice): the sum starts at -0.0, acc is not read
    // The last one: the output y = (sum + constant·Σx)·W_max·range is written instead of acc.
    float* y;                // [N x m], or null (not the last)
    const float* colsum_all; // [m] Σ of all DAC'd inputs, or null (no offset constant)
    float constant;
    const float* w_scale;    // [N]
    float input_range;
    int64_t n, m, rb_count, cb_count, array_cols;
    IndexSplit output;       // t of [N x m] into (output o, column c)
    int polarities, slice, slices, in_slice, in_slices;
    float factor, base;
    analog::AdcParams adc;
    RngStream noise, rounding;
    uint64_t read_base;
    uint64_t weight_reads;   // the reference columns' read elements follow this many
    uint64_t first_column;
};

// The read of array output (row block rb, polarity p, output o, column c) before its ADC, as
// AnalogMatrix::mvm_quantized's read(): the array sum rounded to float, its lumped read noise
// (element e) and its array's reference column, noisy too, subtracted.
__device__ float read_value(const FusedArgs& a, int64_t t, int64_t rb, int p, int64_t o, int64_t c, uint64_t e,
                            uint32_t sample) {
    const int64_t i = (rb * a.polarities + p) * a.n * a.m + t;
    float v = static_cast<float>(a.part[i]);
    if (a.part_var) v = analog::add_lumped_read_noise(v, static_cast<float>(a.part_var[i]), a.noise.normal(e, sample));
    if (a.ref_part) {
        const int64_t cb = o / a.array_cols;
        const int64_t ri = (rb * a.cb_count + cb) * a.m + c;
        float r = static_cast<float>(a.ref_part[ri]);
        if (a.ref_var) {
            const uint64_t re = analog::reference_read_element(
                a.read_base, a.weight_reads, static_cast<uint64_t>(a.slice), static_cast<uint64_t>(a.in_slices),
                static_cast<uint64_t>(a.in_slice), static_cast<uint64_t>(a.rb_count), static_cast<uint64_t>(rb),
                static_cast<uint64_t>(a.cb_count), static_cast<uint64_t>(cb));
            r = analog::add_lumped_read_noise(r, static_cast<float>(a.ref_var[ri]), a.noise.normal(re, sample));
        }
        v = analog::subtract_reference(v, r);
    }
    return v;
}

// The output from the accumulated sum: the offset zero-point constant over all inputs (when
// `with_constant`) and the scale W_max[o]·input range, in AnalogMatrix's double arithmetic.
__device__ float finish_output(double acc, float colsum_all, bool with_constant, float constant, float w_scale,
                               float input_range) {
    if (with_constant) acc = analog::dadd(acc, static_cast<double>(hd::mul(constant, colsum_all)));
    return static_cast<float>(analog::dmul(acc, analog::dmul(static_cast<double>(w_scale), static_cast<double>(input_range))));
}

// Read noise, reference columns, ADC, drift compensation, shift-add and row-block accumulation of
// one weight slice and input slice: every (row block, polarity) output added to the double
// accumulator in the CPU's order (row blocks ascending, polarities inner), g- outputs
// subtracted. With `held`, the analog-accumulated outputs are converted instead (input slice 0).
__global__ void adc_accumulate_kernel(FusedArgs a) {
    XBARSIM_GRID_STRIDE(t, a.n * a.m) {
        int64_t o = 0, c = 0;
        a.output.split(t, o, c);
        const auto sample = static_cast<uint32_t>(a.first_column + static_cast<uint64_t>(c));
        analog::AdcParams q = a.adc;
        if (q.bits > 0 && a.column_hi) {
            q.hi = a.column_hi[o];
            q.lo = a.column_lo ? a.column_lo[o] : -q.hi;
        }
        double acc = a.first ? -0.0 : a.acc[t];  // -0.0 + x is x for every x, as in AnalogMatrix
        for (int64_t rb = 0; rb < a.rb_count; ++rb) {
            const float comp = a.comp ? a.comp[rb * a.cb_count + o / a.array_cols] : 1.0f;
            const float cs = a.colsum ? a.colsum[rb * a.m + c] : 0.0f;
            for (int p = 0; p < a.polarities; ++p) {
                const uint64_t e = analog::output_element(a.read_base, p, a.slice, a.in_slice, rb, o, a.slices, a.in_slices,
                                                          a.rb_count, a.n);
                const float v = a.held ? a.held[(rb * a.polarities + p) * a.n * a.m + t] : read_value(a, t, rb, p, o, c, e, sample);
                const float u = q.stochastic ? a.rounding.uniform(e, sample) : 0.5f;
                acc = analog::dadd(acc, analog::recombined_term(p == 1 ? -1.0 : 1.0, a.factor, analog::adc(v, q, u), comp, a.base, cs));
            }
        }
        if (a.y) {
            a.y[t] = finish_output(acc, a.colsum_all ? a.colsum_all[c] : 0.0f, a.colsum_all != nullptr, a.constant, a.w_scale[o],
                                   a.input_range);
        } else {
            a.acc[t] = acc;
        }
    }
}

// Analog accumulation of bit-serial inputs: input slice a.in_slice's reads (noise and reference
// columns included), weighted by in_factor, join the held outputs of weight slice a.slice.
__global__ void hold_kernel(FusedArgs a, float in_factor, float* __restrict__ held) {
    XBARSIM_GRID_STRIDE(t, a.n * a.m) {
        int64_t o = 0, c = 0;
        a.output.split(t, o, c);
        const auto sample = static_cast<uint32_t>(a.first_column + static_cast<uint64_t>(c));
        for (int64_t rb = 0; rb < a.rb_count; ++rb)
            for (int p = 0; p < a.polarities; ++p) {
                const uint64_t e = analog::output_element(a.read_base, p, a.slice, a.in_slice, rb, o, a.slices, a.in_slices,
                                                          a.rb_count, a.n);
                float& h = held[(rb * a.polarities + p) * a.n * a.m + t];
                h = analog::hold_input_slice(h, in_factor, read_value(a, t, rb, p, o, c, e, sample));
            }
    }
}

#undef XBARSIM_GRID_STRIDE

template <class T>
void upload(DeviceArray<T>& dst, const std::vector<T>& src, const char* what) {
    dst.grow(src.size(), what);
    if (!src.empty()) XBARSIM_CUDA_CHECK(cudaMemcpy(dst.get(), src.data(), src.size() * sizeof(T), cudaMemcpyHostToDevice));
}

}  // namespace

AnalogLayer::AnalogLayer(const Tensor& weights, const AnalogLayerPlan& plan) : plan_(plan) {
    if (!plan.calibrated)
        throw Error("analog layer '" + plan.name + "': its input/ADC ranges are not calibrated (run calibration or pass --ranges)");
    map_ = layer_mapping(plan);
    n_ = plan.cols;
    k_ = plan.rows;
    input_ = layer_input(plan);
    adc_ = layer_adc(plan);
    stored_polarities_ = map_.mapping == analog::Mapping::Differential && map_.separate_differential ? 2 : 1;
    analog_sum_ = input_.slice_bits > 0 && input_.bits > 0 && input_.analog_accumulation;
    const int in_slices = input_.slice_bits > 0 && input_.bits > 0
                              ? analog::input_slice_count(input_.bits, input_.is_signed, input_.slice_bits)
                              : 1;

    // The host AnalogMatrix is the one definition of the mapping (weight scales, quantization,
    // slicing, cell targets) and of the element ranges; its results are copied to the device.
    uint64_t base = 0, read_base = 0;
    matrices_.resize(static_cast<size_t>(plan.groups));
    for (int64_t grp = 0; grp < plan.groups; ++grp) {
        const analog::AnalogMatrix host(weights.ptr() + grp * n_ * k_, n_, k_, map_);
        Matrix& m = matrices_[static_cast<size_t>(grp)];
        slices_ = host.slices();
        slice_bits_ = host.slice_bits();
        m.program_base = base;
        m.read_base = read_base;
        m.weight_reads = host.weight_read_elements(in_slices);
        reference_columns_ = host.has_reference_columns();
        base += host.element_count();
        read_base += host.read_element_count(input_);
        std::vector<float> scale(static_cast<size_t>(n_));
        for (int64_t o = 0; o < n_; ++o) scale[static_cast<size_t>(o)] = host.w_max(o);
        upload(m.w_scale, scale, "weight scales");
        m.targets.resize(static_cast<size_t>(slices_));
        for (int s = 0; s < slices_; ++s) upload(m.targets[static_cast<size_t>(s)], host.targets(s), "analog cell targets");
        if (reference_columns_) {
            m.reference_targets.resize(static_cast<size_t>(slices_));
            for (int s = 0; s < slices_; ++s)
                upload(m.reference_targets[static_cast<size_t>(s)], host.reference_targets(s), "reference-column targets");
        }
        if (!plan.adc_column_range.empty()) {
            const analog::AdcSpec group_adc = layer_group_adc(plan, grp);
            upload(m.column_hi, group_adc.column_hi, "per-column ADC ranges");
            if (!group_adc.column_lo.empty()) upload(m.column_lo, group_adc.column_lo, "per-column ADC ranges");
        }
    }
    if (adc_.bits > 0 && plan.adc_column_range.empty() &&
        (adc_.hi.empty() || (adc_.hi.size() != 1 && adc_.hi.size() != static_cast<size_t>(slices_))))
        throw Error("analog mvm: the ADC needs one range for all slices or one per slice");
}

size_t AnalogLayer::chip_bytes(const analog::DeviceParams& device) const {
    const int64_t per_slice = stored_polarities_ * n_ * k_ + (reference_columns_ ? col_blocks() * k_ : 0);
    const auto cells = static_cast<size_t>(per_slice) * static_cast<size_t>(slices_) * matrices_.size();
    return cells * sizeof(double) * (device.read_noise.enabled ? 2 : 1) +
           static_cast<size_t>(slices_ * row_blocks() * col_blocks()) * matrices_.size() * sizeof(float);
}

void AnalogLayer::program(const Context& ctx, const analog::DeviceParams& device, uint64_t seed,
                          const std::vector<uint32_t>& trials) {
    if (trials.empty()) throw Error("analog layer '" + plan_.name + "': program() needs at least one chip instance");
    device_ = device;
    seed_ = seed;
    const bool offset = map_.mapping == analog::Mapping::Offset;
    const int polarities = offset ? 1 : 2;
    const int64_t count = n_ * k_;
    const float t = device.drift.enabled ? device.drift.time_s : 0.0f;
    read_noise_ = device.read_noise.enabled;
    compensate_ = device.drift.enabled && device.drift.compensation;
    const int64_t rb_count = row_blocks(), cb_count = col_blocks();
    const auto layer = static_cast<uint32_t>(plan_.mvm_index);
    const auto stored = static_cast<size_t>(stored_polarities_);
    if (compensate_) {
        at0_.grow(static_cast<size_t>(polarities * count), "drift-compensation reads");
        at_t_.grow(static_cast<size_t>(polarities * count), "drift-compensation reads");
    }
    if (chips_.size() < trials.size()) chips_.resize(trials.size());
    chip_count_ = trials.size();
    for (size_t c = 0; c < trials.size(); ++c) {
        Chip& chip = chips_[c];
        chip.trial = trials[c];
        chip.groups.resize(matrices_.size());
        for (size_t grp = 0; grp < matrices_.size(); ++grp) {
            const Matrix& m = matrices_[grp];
            Programmed& pg = chip.groups[grp];
            pg.g.resize(static_cast<size_t>(slices_));
            pg.var.resize(static_cast<size_t>(slices_));
            pg.ref_g.resize(reference_columns_ ? static_cast<size_t>(slices_) : 0);
            pg.ref_var.resize(reference_columns_ ? static_cast<size_t>(slices_) : 0);
            if (compensate_) pg.compensation.grow(static_cast<size_t>(slices_ * rb_count * cb_count), "drift compensation");
            for (int s = 0; s < slices_; ++s) {
                double* g = pg.g[static_cast<size_t>(s)].grow(stored * static_cast<size_t>(count), "analog conductances");
                double* var = read_noise_ ? pg.var[static_cast<size_t>(s)].grow(stored * static_cast<size_t>(count), "read-noise variances")
                                          : nullptr;
                if (count == 0) continue;
                program_kernel<<<grid_for(count), kThreads, 0, ctx.stream>>>(
                    m.targets[static_cast<size_t>(s)].get(), count, polarities, stored_polarities_, offset, device, m.program_base,
                    static_cast<uint64_t>(s), seed, chip.trial, layer, t, g, var, compensate_ ? at0_.get() : nullptr,
                    compensate_ ? at_t_.get() : nullptr);
                XBARSIM_CUDA_LAUNCH_CHECK();
                if (reference_columns_) {
                    // The reference cells, programmed (not compensated) like offset weight cells: with
                    // their elements following the slices' weight cells, program_kernel's element of
                    // cell i of "slice" s is reference_programming_element(...).
                    const int64_t ref_count = cb_count * k_;
                    double* rg = pg.ref_g[static_cast<size_t>(s)].grow(static_cast<size_t>(ref_count), "reference-column conductances");
                    double* rv = read_noise_ ? pg.ref_var[static_cast<size_t>(s)].grow(static_cast<size_t>(ref_count),
                                                                                       "reference-column variances")
                                             : nullptr;
                    program_kernel<<<grid_for(ref_count), kThreads, 0, ctx.stream>>>(
                        m.reference_targets[static_cast<size_t>(s)].get(), ref_count, 1, 1, true, device,
                        m.program_base + static_cast<uint64_t>(slices_) * static_cast<uint64_t>(count), static_cast<uint64_t>(s),
                        seed, chip.trial, layer, t, rg, rv, nullptr, nullptr);
                    XBARSIM_CUDA_LAUNCH_CHECK();
                }
                if (compensate_) {
                    compensation_kernel<<<grid_for(rb_count * cb_count), kThreads, 0, ctx.stream>>>(
                        at0_.get(), at_t_.get(), n_, k_, polarities, map_.array_rows, map_.array_cols, rb_count, cb_count,
                        device, pg.compensation.get() + s * rb_count * cb_count);
                    XBARSIM_CUDA_LAUNCH_CHECK();
                }
            }
        }
    }
}

void AnalogLayer::dac(const Context& ctx, const float* x, float* xq, int64_t count) const {
    cuda::dac(ctx, x, xq, count, input_.range, input_.bits, input_.is_signed);
}

size_t AnalogLayer::workspace_bytes_per_column() const {
    const auto rb = static_cast<size_t>(row_blocks()), p = static_cast<size_t>(stored_polarities_);
    const auto n = static_cast<size_t>(n_), k = static_cast<size_t>(k_);
    const auto cb = reference_columns_ ? static_cast<size_t>(col_blocks()) : 0;
    const size_t doubles = 2 * rb * (p * n + cb) /* outputs, variances; reference columns' */ + 2 * k /* driven input, square */ +
                           n /* accumulator */;
    const size_t held = analog_sum_ ? static_cast<size_t>(slices_) * rb * p * n : 0;
    return doubles * sizeof(double) + (held + rb + 1) * sizeof(float) /* held outputs, input sums */;
}

void AnalogLayer::multiply(const Context& ctx, int64_t group, const float* xq, int64_t m, float* y, uint64_t first_column,
                           size_t chip) {
    if (chip >= chip_count_)
        throw Error("analog layer '" + plan_.name + "': multiply() on chip " + std::to_string(chip) + " of " +
                    std::to_string(chip_count_) + " programmed");
    if (m == 0) return;
    const Matrix& mat = matrices_.at(static_cast<size_t>(group));
    const Programmed& pg = chips_[chip].groups.at(static_cast<size_t>(group));
    const uint32_t trial = chips_[chip].trial;
    analog::WeightRecombination rc;
    rc.sliced = slices_ > 1;
    rc.offset = map_.mapping == analog::Mapping::Offset;
    rc.weight_bits = map_.weight_bits;
    rc.slice_bits = slice_bits_;
    rc.g_min = map_.g_min;
    rc.reference_column = reference_columns_;
    const float base = analog::offset_base(rc);
    const float constant = analog::offset_constant(rc);
    const bool serial = input_.slice_bits > 0 && input_.bits > 0;
    const int32_t n_x = analog::input_code_max(input_.bits, input_.is_signed);
    const int in_slices = serial ? analog::input_slice_count(input_.bits, input_.is_signed, input_.slice_bits) : 1;
    const bool per_cell = read_noise_ && map_.per_cell_read_noise;
    const bool lumped = read_noise_ && !map_.per_cell_read_noise;
    // Reference columns get lumped read noise in either mode (as on the CPU).
    const bool squares = lumped || (read_noise_ && reference_columns_);
    const int P = stored_polarities_;
    const int64_t rows = map_.array_rows, rb_count = row_blocks(), cb_count = col_blocks();
    const int64_t full_blocks = k_ / rows, last_rows = k_ - full_blocks * rows;
    const int64_t count = n_ * k_, nm = n_ * m;
    const auto total_in = static_cast<size_t>(k_ * m);
    const int64_t rb_stride = P * nm;  // values between row blocks in part/part_var
    const int64_t ref_stride = cb_count * m;  // between row blocks in ref_part/ref_var

    double* part = part_.grow(static_cast<size_t>(rb_count * rb_stride), "analog array outputs");
    double* part_var = lumped ? part_var_.grow(static_cast<size_t>(rb_count * rb_stride), "read-noise variances") : nullptr;
    double* ref_part = reference_columns_ ? ref_part_.grow(static_cast<size_t>(rb_count * ref_stride), "reference-column outputs") : nullptr;
    double* ref_var = reference_columns_ && read_noise_
                          ? ref_var_.grow(static_cast<size_t>(rb_count * ref_stride), "reference-column variances")
                          : nullptr;
    float* colsum = base != 0.0f ? colsum_.grow(static_cast<size_t>(rb_count * m), "input sums") : nullptr;
    double* xin = slice_in_.grow(total_in, "driven inputs");
    double* square_in = squares ? square_in_.grow(total_in, "squared inputs") : nullptr;
    double* acc = acc_.grow(static_cast<size_t>(nm), "analog accumulator");
    const auto held_per_slice = static_cast<size_t>(rb_count * rb_stride);
    float* held = analog_sum_ ? held_.grow(static_cast<size_t>(slices_) * held_per_slice, "analog-accumulated outputs") : nullptr;
    if (held) XBARSIM_CUDA_CHECK(cudaMemsetAsync(held, 0, static_cast<size_t>(slices_) * held_per_slice * sizeof(float), ctx.stream));

    // The offset constant's input sums, for the last conversion kernel's output.
    float* colsum_all = nullptr;
    if (constant != 0.0f) {
        colsum_all = colsum_all_.grow(static_cast<size_t>(m), "input sums");
        column_sum_kernel<float><<<grid_for(m), kThreads, 0, ctx.stream>>>(xq, k_, m, k_, 1, colsum_all);
        XBARSIM_CUDA_LAUNCH_CHECK();
    }
    // The conversion kernels in order: the first starts the sum, the last writes y.
    int conversions_left = analog_sum_ ? slices_ : slices_ * in_slices;
    const int conversions = conversions_left;
    auto convert = [&](FusedArgs& a) {
        a.first = conversions_left == conversions;
        a.y = --conversions_left == 0 ? y : nullptr;
        adc_accumulate_kernel<<<grid_for(nm), kThreads, 0, ctx.stream>>>(a);
        XBARSIM_CUDA_LAUNCH_CHECK();
    };
    const RngStream noise{seed_, trial, static_cast<uint32_t>(plan_.mvm_index), RngRole::ReadNoise};
    const RngStream rounding{seed_, trial, static_cast<uint32_t>(plan_.mvm_index), RngRole::AdcRounding};
    Context quiet = ctx;
    quiet.log = nullptr;  // analog GEMMs are not the digital network's (as on the CPU)
    // out[rb] [n_rows x m] = M[:, rb rows] . x[rb rows, :] for every row block of a [n_rows x K]
    // conductance matrix, row blocks `stride` apart. In double, like cpu::dgemm in AnalogMatrix,
    // so both backends round the same sums.
    auto block_products = [&](int64_t n_rows, const double* mat_p, const double* x, double* out_p, int64_t stride) {
        dgemm_strided_batched(quiet, n_rows, m, rows, mat_p, k_, rows, x, m, rows * m, out_p, m, stride, full_blocks);
        if (last_rows > 0)
            dgemm(quiet, n_rows, m, last_rows, mat_p + full_blocks * rows, k_, x + full_blocks * rows * m, m,
                  out_p + full_blocks * stride, m);
    };
    // What the fused kernels of weight slice s and input slice js share.
    auto fused_args = [&](int s, int js) {
        FusedArgs a{};
        a.part = part;
        a.part_var = part_var;
        a.ref_part = ref_part;
        a.ref_var = ref_var;
        a.colsum = colsum;
        a.comp = compensate_ ? pg.compensation.get() + s * rb_count * cb_count : nullptr;
        a.column_hi = mat.column_hi.get() ? mat.column_hi.get() + s * n_ : nullptr;
        a.column_lo = mat.column_lo.get() ? mat.column_lo.get() + s * n_ : nullptr;
        a.acc = acc;
        a.colsum_all = colsum_all;
        a.constant = constant;
        a.w_scale = mat.w_scale.get();
        a.input_range = input_.range;
        a.n = n_;
        a.m = m;
        a.rb_count = rb_count;
        a.cb_count = cb_count;
        a.array_cols = map_.array_cols;
        a.output = IndexSplit(m, nm);
        a.polarities = P;
        a.slice = s;
        a.slices = slices_;
        a.in_slice = js;
        a.in_slices = in_slices;
        a.base = base;
        a.adc.bits = adc_.bits;
        a.adc.symmetric = adc_.symmetric;
        a.adc.stochastic = adc_.stochastic;
        if (adc_.bits > 0 && adc_.hi.size() > 0) {
            const size_t r = adc_.hi.size() == 1 ? 0 : static_cast<size_t>(s);
            a.adc.hi = adc_.hi[r];
            a.adc.lo = adc_.lo.empty() ? -a.adc.hi : adc_.lo[r];
        }
        a.noise = noise;
        a.rounding = rounding;
        a.read_base = mat.read_base;
        a.weight_reads = mat.weight_reads;
        a.first_column = first_column;
        return a;
    };
    for (int js = 0; js < in_slices; ++js) {
        input_slice_kernel<<<grid_for(static_cast<int64_t>(total_in)), kThreads, 0, ctx.stream>>>(
            xq, static_cast<int64_t>(total_in), n_x, js, serial ? input_.slice_bits : 0, xin, square_in);
        XBARSIM_CUDA_LAUNCH_CHECK();
        if (colsum && !analog_sum_) {
            column_sum_kernel<double><<<grid_for(rb_count * m), kThreads, 0, ctx.stream>>>(xin, k_, m, rows, rb_count, colsum);
            XBARSIM_CUDA_LAUNCH_CHECK();
        }
        const float in_factor = serial ? analog::input_slice_factor(js, input_.slice_bits, n_x) : 1.0f;
        for (int s = 0; s < slices_; ++s) {
            for (int p = 0; p < P; ++p) {
                block_products(n_, pg.g[static_cast<size_t>(s)].get() + p * count, xin, part + p * nm, rb_stride);
                if (lumped) block_products(n_, pg.var[static_cast<size_t>(s)].get() + p * count, square_in, part_var + p * nm, rb_stride);
                if (per_cell) {
                    const uint64_t cell_base = analog::read_noise_cell_element_base(
                        mat.read_base, static_cast<uint64_t>(p), static_cast<uint64_t>(slices_), static_cast<uint64_t>(s),
                        static_cast<uint64_t>(in_slices), static_cast<uint64_t>(js), static_cast<uint64_t>(n_),
                        static_cast<uint64_t>(k_));
                    per_cell_noise_kernel<<<grid_for(rb_count * nm), kThreads, 0, ctx.stream>>>(
                        pg.var[static_cast<size_t>(s)].get() + p * count, xin, n_, k_, m, rows, rb_count, noise, cell_base,
                        first_column, part + p * nm, rb_stride);
                    XBARSIM_CUDA_LAUNCH_CHECK();
                }
            }
            if (reference_columns_) {
                block_products(cb_count, pg.ref_g[static_cast<size_t>(s)].get(), xin, ref_part, ref_stride);
                if (ref_var) block_products(cb_count, pg.ref_var[static_cast<size_t>(s)].get(), square_in, ref_var, ref_stride);
            }
            FusedArgs a = fused_args(s, js);
            if (analog_sum_) {
                hold_kernel<<<grid_for(nm), kThreads, 0, ctx.stream>>>(a, in_factor, held + static_cast<size_t>(s) * held_per_slice);
                XBARSIM_CUDA_LAUNCH_CHECK();
                continue;
            }
            // As the CPU: in_factor * weight_slice_factor, one float product.
            a.factor = hd::mul(in_factor, analog::weight_slice_factor(rc, s));
            convert(a);
        }
    }
    if (analog_sum_) {
        // One conversion per array output after all input slices (input slice 0's elements); the
        // zero point's current is that of the whole DAC'd input.
        if (colsum) {
            column_sum_kernel<float><<<grid_for(rb_count * m), kThreads, 0, ctx.stream>>>(xq, k_, m, rows, rb_count, colsum);
            XBARSIM_CUDA_LAUNCH_CHECK();
        }
        for (int s = 0; s < slices_; ++s) {
            FusedArgs a = fused_args(s, 0);
            a.held = held + static_cast<size_t>(s) * held_per_slice;
            a.factor = analog::weight_slice_factor(rc, s);
            convert(a);
        }
    }
}

}  // namespace xbarsim::cuda
