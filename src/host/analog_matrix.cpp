#include "xbarsim/analog/analog_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "cpu_ops.hpp"
#include "xbarsim/analog/cpu_read_noise.hpp"
#include "xbarsim/analog/conv_columns.hpp"
#include "xbarsim/analog/mvm_math.hpp"
#include "xbarsim/analog/recombine.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::analog {

namespace {

// Rounds the double array sums to the float values the read noise and the ADC work on.
void to_float(const double* in, float* out, int64_t count) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]);
}

// The unrolled input vectors [k x m] of one input slice as an explicit matrix: the driven values
// (float, or float values held in double) and, for the array sums, the same in double and their
// squares (each rounded to float first, as on every backend; null without read noise).
template <class T>
struct MatrixColumns {
    const T* x = nullptr;
    const double* x64 = nullptr;
    const double* sq64 = nullptr;
    int64_t m = 0;

    void sums(const double* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, double* out) const {
        cpu::dgemm(n, m, nr, a + r0, lda, (squares ? sq64 : x64) + r0 * m, m, out, m);
    }
    void column_sums(int64_t r0, int64_t nr, float* out) const {
        std::fill(out, out + m, 0.0f);
        for (int64_t j = r0; j < r0 + nr; ++j)
            for (int64_t c = 0; c < m; ++c) out[c] += static_cast<float>(x[j * m + c]);
    }
};

void validate(const MatrixMapping& m) {
    if (m.weight_bits < 0 || m.weight_bits > 24) throw Error("analog mapping: weight_bits must be 0..24");
    if (m.weight_bits == 1) throw Error("analog mapping: weight_bits must be at least 2 (sign and one magnitude bit)");
    if (m.slices < 1) throw Error("analog mapping: slices must be at least 1");
    if (m.slices > 1 && m.weight_bits == 0) throw Error("analog mapping: bit slicing (slices > 1) needs weight_bits > 0");
    if (m.cell_bits < 0 || m.cell_bits > 24) throw Error("analog mapping: cell_bits must be 0..24");
    if (m.mapping == Mapping::Offset && m.cell_bits == 1 && m.slices == 1)
        throw Error("analog mapping: offset mapping needs cell_bits >= 2 (an odd number of levels, one at zero)");
    if (m.array_rows < 1 || m.array_cols < 1) throw Error("analog mapping: array rows and cols must be positive");
    if (!(m.g_min >= 0.0f && m.g_min < 1.0f)) throw Error("analog mapping: g_min must be in [0, 1)");
    if (m.separate_differential && m.mapping != Mapping::Differential)
        throw Error("analog mapping: separately digitized pairs need the differential mapping");
    if (m.reference_column && m.mapping != Mapping::Offset) throw Error("analog mapping: a reference column needs the offset mapping");
}

}  // namespace

AnalogMatrix::AnalogMatrix(const float* w, int64_t n_out, int64_t k_in, const MatrixMapping& mapping)
    : map_(mapping), n_(n_out), k_(k_in) {
    validate(map_);
    const auto count = static_cast<size_t>(n_ * k_);
    // Weight full scale: explicit, or max |W| of the matrix, or of each output column.
    w_scale_.assign(static_cast<size_t>(n_), map_.w_max);
    if (!(map_.w_max > 0.0f)) {
        float all = 0.0f;
        for (int64_t o = 0; o < n_; ++o) {
            float m = 0.0f;
            for (int64_t j = 0; j < k_; ++j) m = std::max(m, std::fabs(w[o * k_ + j]));
            w_scale_[static_cast<size_t>(o)] = m;
            all = std::max(all, m);
        }
        // An all-zero matrix (or column): any scale maps it to zero conductance.
        for (auto& v : w_scale_) v = map_.per_column_scale ? (v > 0.0f ? v : 1.0f) : (all > 0.0f ? all : 1.0f);
    }
    const float gmin = map_.g_min;
    const bool sliced = map_.slices > 1;
    const bool offset = map_.mapping == Mapping::Offset;
    if (map_.weight_bits > 0) {
        codes_.resize(count);
        for (size_t i = 0; i < count; ++i) codes_[i] = quantize_weight(w[i] / w_scale_[i / static_cast<size_t>(k_)], map_.weight_bits);
    } else {
        w_norm_.resize(count);
        for (size_t i = 0; i < count; ++i) w_norm_[i] = clampf(w[i] / w_scale_[i / static_cast<size_t>(k_)], -1.0f, 1.0f);
    }
    const int32_t n_levels = map_.weight_bits > 0 ? signed_max_level(map_.weight_bits) : 0;
    // The offset zero point (w = 0) per slice: the conductance a reference column holds.
    std::vector<float> zero_level(static_cast<size_t>(map_.slices), offset_conductance(0.0f, map_.cell_bits, gmin));
    if (sliced) {
        // Differential slices the magnitude (weight_bits - 1 bits), offset the shifted code
        // q + 2^(bits-1) (weight_bits bits); each slice's cell holds slice_bits bits.
        const int code_bits = offset ? map_.weight_bits : map_.weight_bits - 1;
        slice_bits_ = (code_bits + map_.slices - 1) / map_.slices;
        const size_t cells = offset ? count : 2 * count;  // differential: g+ cells, then g- cells
        targets_.assign(static_cast<size_t>(map_.slices), std::vector<float>(cells));
        const int32_t zero = offset ? (int32_t{1} << (map_.weight_bits - 1)) : 0;
        for (int s = 0; s < map_.slices; ++s)
            zero_level[static_cast<size_t>(s)] = level_conductance(code_slice(static_cast<uint32_t>(zero), s, slice_bits_), slice_bits_, gmin);
        for (size_t i = 0; i < count; ++i) {
            const int32_t q = codes_[i];
            const auto code = static_cast<uint32_t>(offset ? q + zero : (q < 0 ? -q : q));
            for (int s = 0; s < map_.slices; ++s) {
                const float g = level_conductance(code_slice(code, s, slice_bits_), slice_bits_, gmin);
                auto& t = targets_[static_cast<size_t>(s)];
                if (offset) {
                    t[i] = g;
                } else {  // the sign picks the cell; the other stays at g_min
                    t[i] = q < 0 ? gmin : g;
                    t[count + i] = q < 0 ? g : gmin;
                }
            }
        }
    } else {
        slice_bits_ = map_.cell_bits;
        targets_.assign(1, std::vector<float>(offset ? count : 2 * count));
        for (size_t i = 0; i < count; ++i) {
            const float wq = map_.weight_bits > 0 ? static_cast<float>(codes_[i]) / static_cast<float>(n_levels) : w_norm_[i];
            if (offset) {
                targets_[0][i] = offset_conductance(wq, map_.cell_bits, gmin);
            } else {
                differential_pair(wq, map_.cell_bits, gmin, &targets_[0][i], &targets_[0][count + i]);
            }
        }
    }
    polarities_ = !offset && map_.separate_differential ? 2 : 1;
    if (offset && map_.reference_column) {
        // One reference column per array (column block), every cell at the zero point.
        ref_targets_.resize(targets_.size());
        for (size_t s = 0; s < targets_.size(); ++s)
            ref_targets_[s].assign(static_cast<size_t>(col_blocks() * k_), zero_level[s]);
    }
    program(DeviceParams{}, NoiseIds{});  // ideal: conductances at their targets
}

uint64_t AnalogMatrix::element_count() const {
    uint64_t n = 0;
    for (const auto& t : targets_) n += t.size();
    for (const auto& t : ref_targets_) n += t.size();
    return n;
}

uint64_t AnalogMatrix::weight_read_elements(int in_slices) const {
    const auto s = static_cast<uint64_t>(slices()), in = static_cast<uint64_t>(in_slices);
    const uint64_t outputs = static_cast<uint64_t>(polarities_) * s * in * static_cast<uint64_t>(row_blocks() * n_);
    const uint64_t cells = map_.per_cell_read_noise ? static_cast<uint64_t>(polarities_) * s * in * static_cast<uint64_t>(n_ * k_) : 0;
    return std::max(outputs, cells);
}

uint64_t AnalogMatrix::read_element_count(const InputSpec& input) const {
    const bool serial = input.slice_bits > 0 && input.bits > 0;
    const int in = serial ? input_slice_count(input.bits, input.is_signed, input.slice_bits) : 1;
    const auto refs = ref_targets_.empty() ? 0 : static_cast<uint64_t>(slices() * in) * static_cast<uint64_t>(row_blocks() * col_blocks());
    return weight_read_elements(in) + refs;
}

// One programmed cell: programming error, drift to time t (with the PCM accumulated read noise);
// also the conductance right after programming, for the drift-compensation reference read.
struct ProgrammedCell {
    float now = 0.0f, at0 = 0.0f;
};

static ProgrammedCell program_cell(const DeviceParams& device, float target, uint64_t e, float t, const RngStream& prog,
                                   const RngStream& drift, const RngStream& accumulated, bool want_at0) {
    // Programming error and drift are drawn once per chip instance (trial).
    const float programmed = apply_programming(device, target, prog.normal(e), prog.uniform(e, 1));
    const float nu = drift_nu(device, target, drift.normal(e));
    const float z = accumulated.normal(e);
    ProgrammedCell c;
    c.now = conductance_at_time(device, programmed, nu, t, z);
    if (want_at0) c.at0 = conductance_at_time(device, programmed, nu, 0.0f, z);
    return c;
}

void AnalogMatrix::program(const DeviceParams& device, const NoiseIds& ids) {
    device_ = device;
    ids_ = ids;
    const bool offset = map_.mapping == Mapping::Offset;
    const auto count = static_cast<size_t>(n_ * k_);
    const size_t polarities = offset ? 1 : 2;
    const auto stored = static_cast<size_t>(polarities_);  // 2: g+ and g- kept apart
    const float t = device.drift.enabled ? device.drift.time_s : 0.0f;
    const bool read_noise = device.read_noise.enabled;
    const bool compensate = device.drift.enabled && device.drift.compensation;
    const int64_t rb_count = row_blocks(), cb_count = col_blocks();
    g_.assign(targets_.size(), std::vector<double>(stored * count));
    var_.assign(read_noise ? targets_.size() : 0, std::vector<double>(stored * count));
    compensation_.assign(compensate ? targets_.size() * static_cast<size_t>(rb_count * cb_count) : 0, 1.0f);
    const RngStream prog{ids.seed, ids.trial, ids.layer, RngRole::Programming};
    const RngStream drift{ids.seed, ids.trial, ids.layer, RngRole::Drift};
    const RngStream accumulated{ids.seed, ids.trial, ids.layer, RngRole::AccumulatedReadNoise};
    std::vector<double> ref0(compensation_.size(), 0.0), ref_t(compensation_.size(), 0.0);
    // Per cell, for the reference reads: the conductance right after programming and at time t.
    std::vector<float> at0(compensate ? polarities * count : 0), at_t(at0.size());
    for (size_t s = 0; s < targets_.size(); ++s) {
#pragma omp parallel for schedule(static)
        for (int64_t ii = 0; ii < static_cast<int64_t>(count); ++ii) {
            const auto i = static_cast<size_t>(ii);
            float now[2] = {0.0f, 0.0f};
            for (size_t p = 0; p < polarities; ++p) {
                const uint64_t e = programming_element(ids.element_base, s, polarities, p, count, i);
                const ProgrammedCell c = program_cell(device, targets_[s][p * count + i], e, t, prog, drift, accumulated, compensate);
                now[p] = c.now;
                if (compensate) {
                    at0[p * count + i] = c.at0;
                    at_t[p * count + i] = c.now;
                }
            }
            // The read-time conductances and read-noise variances (shared with the CUDA backend).
            if (stored == 2) {
                g_[s][i] = now[0];
                g_[s][count + i] = now[1];
            } else {
                g_[s][i] = static_cast<double>(pair_conductance(offset, now[0], now[1]));
            }
            if (read_noise) {
                if (stored == 2) {
                    var_[s][i] = cell_read_variance(device, now[0]);
                    var_[s][count + i] = cell_read_variance(device, now[1]);
                } else {
                    var_[s][i] = static_cast<double>(pair_read_variance(device, offset, now[0], now[1]));
                }
            }
        }
        if (!compensate) continue;
        // Reference reads of every array, right after programming and at time t: the total current
        // for an all-ones input (both cells of a pair), whose ratio rescales the array's outputs.
        for (size_t i = 0; i < count; ++i) {
            const auto o = static_cast<int64_t>(i) / k_, j = static_cast<int64_t>(i) % k_;
            const size_t blk = s * static_cast<size_t>(rb_count * cb_count) + static_cast<size_t>((j / map_.array_rows) * cb_count + o / map_.array_cols);
            for (size_t p = 0; p < polarities; ++p) {
                ref0[blk] += at0[p * count + i];
                ref_t[blk] += at_t[p * count + i];
            }
        }
    }
    for (size_t b = 0; b < compensation_.size(); ++b)
        compensation_[b] = drift_compensation_scale(device, static_cast<float>(ref0[b]), static_cast<float>(ref_t[b]));
    // Offset reference columns: programmed, drifting and noisy like every other cell; their
    // elements follow the weight cells'.
    ref_g_.assign(ref_targets_.size(), {});
    ref_var_.assign(read_noise ? ref_targets_.size() : 0, {});
    for (size_t s = 0; s < ref_targets_.size(); ++s) {
        const auto& tg = ref_targets_[s];
        ref_g_[s].resize(tg.size());
        if (read_noise) ref_var_[s].resize(tg.size());
        for (size_t i = 0; i < tg.size(); ++i) {
            const uint64_t e = reference_programming_element(ids.element_base, targets_.size(), count, tg.size(), s, i);
            const float g = program_cell(device, tg[i], e, t, prog, drift, accumulated, false).now;
            ref_g_[s][i] = g;
            if (read_noise) ref_var_[s][i] = static_cast<double>(cell_read_variance(device, g));
        }
    }
}

std::vector<float> AnalogMatrix::quantized_weights() const {
    std::vector<float> out(static_cast<size_t>(n_ * k_));
    if (codes_.empty()) {
        for (size_t i = 0; i < out.size(); ++i) out[i] = w_norm_[i] * w_scale_[i / static_cast<size_t>(k_)];
        return out;
    }
    const auto n = static_cast<float>(signed_max_level(map_.weight_bits));
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(codes_[i]) / n * w_scale_[i / static_cast<size_t>(k_)];
    return out;
}

void AnalogMatrix::mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y) const {
    mvm(x, m, input, adc_spec, y, nullptr);
}

static void require_input_range(const InputSpec& input) {
    if (!(input.range > 0.0f)) throw Error("analog mvm: input range must be positive");
}

void dac_all(const float* x, int64_t count, const InputSpec& input, float* xq) {
    require_input_range(input);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) xq[i] = dac(x[i], input.range, input.bits, input.is_signed);
}

void dac_all(const ConvInput& x, const InputSpec& input, ConvColumns& xq) {
    require_input_range(input);
    xq.assign_dac(x, input.range, input.bits, input.is_signed);
}

void AnalogMatrix::mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                       const PartialSumObserver& observer) const {
    std::vector<float> xq(static_cast<size_t>(k_ * m));
    dac_all(x, k_ * m, input, xq.data());
    mvm_quantized(xq.data(), m, input, adc_spec, y, observer);
}

void AnalogMatrix::mvm_quantized(const float* xq, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                                 const PartialSumObserver& observer, uint64_t first_column) const {
    mvm_columns(xq, m, input, adc_spec, y, observer, first_column);
}

bool AnalogMatrix::takes_conv_columns() const { return !map_.per_cell_read_noise; }

void AnalogMatrix::mvm_quantized(const double* xq, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                                 const PartialSumObserver& observer, uint64_t first_column) const {
    if (input.slice_bits > 0 && input.bits > 0)
        throw Error("analog mvm: bit-serial inputs need the float DAC'd values (mvm_quantized with float inputs)");
    mvm_columns(xq, m, input, adc_spec, y, observer, first_column);
}

void AnalogMatrix::mvm_conv(const ConvColumns& cols, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                            uint64_t first_column, const PartialSumObserver& observer) const {
    if (!takes_conv_columns()) throw Error("analog mvm: per-cell read noise needs the unrolled input (mvm_quantized)");
    if (cols.rows() != k_) throw Error("analog mvm: the convolution's columns do not match the matrix's rows");
    mvm_columns(&cols, cols.cols(), input, adc_spec, y, observer, first_column);
}

template <class T>
void AnalogMatrix::mvm_columns(const T* xq, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                               const PartialSumObserver& observer, uint64_t first_column) const {
    // T = float or double: the unrolled input [k x m] (double: float values held exactly, so
    // every use that rounds x to float gets the same bits); T = ConvColumns: the convolution's
    // input read in place (inputs applied at once, lumped read noise only).
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, ConvColumns>);
    constexpr bool conv = std::is_same_v<T, ConvColumns>;
    const int slices = this->slices();
    const auto S = static_cast<size_t>(slices);
    const bool per_column = !adc_spec.column_hi.empty();
    if (adc_spec.bits > 0) {
        if (per_column) {
            if (adc_spec.column_hi.size() != S * static_cast<size_t>(n_) ||
                (!adc_spec.column_lo.empty() && adc_spec.column_lo.size() != adc_spec.column_hi.size()))
                throw Error("analog mvm: per-column ADC ranges need one value per slice and output column");
        } else if (adc_spec.hi.empty() || (adc_spec.hi.size() != 1 && adc_spec.hi.size() != S)) {
            throw Error("analog mvm: the ADC needs one range for all slices or one per slice");
        }
    }
    WeightRecombination rc;
    rc.sliced = slices > 1;
    rc.offset = map_.mapping == Mapping::Offset;
    rc.weight_bits = map_.weight_bits;
    rc.slice_bits = slice_bits_;
    rc.g_min = map_.g_min;
    rc.reference_column = !ref_g_.empty();
    const float base = offset_base(rc);
    const float constant = offset_constant(rc);

    const int64_t rows = map_.array_rows;
    const int64_t rb_count = row_blocks(), cb_count = col_blocks();
    const auto nm = static_cast<size_t>(n_ * m);
    std::vector<float>& part = scratch_part_;
    std::vector<float>& colsum = scratch_colsum_;
    std::vector<double>& acc = scratch_acc_;
    part.resize(nm);
    colsum.assign(static_cast<size_t>(m), 0.0f);
    // Where every output gets exactly one term (one weight slice, row block, polarity and
    // conversion, no offset constant), the term is scaled and stored directly: the same double
    // arithmetic as accumulating it, without the accumulator's passes over memory. (Sums start at
    // -0.0, the additive identity: +0.0 would turn a lone -0.0 term into +0.0.)
    const bool direct = S == 1 && row_blocks() == 1 && polarities_ == 1 && constant == 0.0f &&
                        (!(input.slice_bits > 0 && input.bits > 0) || input.analog_accumulation);
    if (!direct) acc.assign(nm, -0.0);
    scratch_adc_.resize(nm);
    // Bit-serial inputs: slice j carries input_slice_value(xq, j) and weighs input_slice_factor(j)
    // in the shift-add (digital: per conversion; analog: before the one conversion).
    const bool serial = input.slice_bits > 0 && input.bits > 0;
    const bool analog_sum = serial && input.analog_accumulation;
    const int32_t n_x = input_code_max(input.bits, input.is_signed);
    const int in_slices = serial ? input_slice_count(input.bits, input.is_signed, input.slice_bits) : 1;
    const int P = polarities_;
    // Lumped read noise: each column output gets a Gaussian of variance sum_j var(g_oj) x_j^2, the
    // exact distribution of the sum of independent per-cell Gaussians, from one extra GEMM.
    const bool read_noise = !var_.empty();
    std::vector<double>& x64 = scratch_x64_;
    std::vector<double>& sq64 = scratch_sq64_;
    std::vector<double>& sum64 = scratch_sum64_;
    if constexpr (std::is_same_v<T, float>) x64.resize(static_cast<size_t>(k_ * m));
    sum64.resize(std::max(nm, static_cast<size_t>(cb_count * m)));
    if constexpr (!conv)
        if (read_noise) sq64.resize(static_cast<size_t>(k_ * m));
    std::vector<float>& pending = scratch_pending_;  // analog accumulation: [slice][row block][polarity][n x m]
    if (analog_sum) pending.assign(S * static_cast<size_t>(rb_count * P) * nm, 0.0f);
    const RngStream noise{ids_.seed, ids_.trial, ids_.layer, RngRole::ReadNoise};
    const RngStream rounding{ids_.seed, ids_.trial, ids_.layer, RngRole::AdcRounding};
    const uint64_t rbase = ids_.read_element_base;
    const auto count = static_cast<size_t>(n_ * k_);

    // Column sums of the driven input over a row block (the offset zero point's current).
    auto column_sums = [&](const auto& columns, int64_t r0, int64_t nr) { columns.column_sums(r0, nr, colsum.data()); };

    // out [n x m] = a[:, r0 : r0 + nr] . x[r0 : r0 + nr, :], summed in double and rounded to float
    // once: in the convolution kernel's stores, or after a DGEMM.
    // squares: over x∘x (the read-noise variance sums).
    auto sums_to_float = [&](const auto& columns, const double* a, int64_t n, int64_t r0, int64_t nr, bool squares, float* out) {
        if constexpr (conv) {
            columns.sums(a, k_, n, r0, nr, squares, out);
        } else {
            columns.sums(a, k_, n, r0, nr, squares, sum64.data());
            to_float(sum64.data(), out, n * m);
        }
    };

    // The analog read of one array set: part = G . x over the row block, read noise, reference
    // column subtracted.
    auto read = [&](size_t s, int p, int js, int64_t rb, const auto& columns) {
        const int64_t r0 = rb * rows, nr = std::min(rows, k_ - r0);
        const double* g = g_[s].data() + static_cast<size_t>(p) * count;
        // part[n x m] = G_s[:, r0:r0+nr] . x[r0:r0+nr, :] — every column of every array block at once,
        // summed in double and rounded to float once (see g_).
        sums_to_float(columns, g, n_, r0, nr, false, part.data());
        if constexpr (!conv) if (read_noise && map_.per_cell_read_noise) {
            const auto* xin = columns.x;
            // Validation mode: every cell gets its own draw for every input vector; elements are the
            // cells (polarity, weight slice, input slice, output, input).
            const double* var = var_[s].data() + static_cast<size_t>(p) * count;
            const uint64_t cell0 = read_noise_cell_element_base(rbase, static_cast<uint64_t>(p), S, s, static_cast<uint64_t>(in_slices),
                                                                static_cast<uint64_t>(js), static_cast<uint64_t>(n_), static_cast<uint64_t>(k_));
#pragma omp parallel for schedule(static)
            for (int64_t o = 0; o < n_; ++o)
                for (int64_t c = 0; c < m; ++c) {
                    double sum = 0.0;
                    for (int64_t j = r0; j < r0 + nr; ++j) {
                        const auto v = static_cast<float>(var[o * k_ + j]);
                        if (v <= 0.0f) continue;
                        const float z = noise.normal(cell0 + static_cast<uint64_t>(o * k_ + j), static_cast<uint32_t>(first_column + static_cast<uint64_t>(c)));
                        sum += static_cast<double>(std::sqrt(v) * z) * static_cast<double>(xin[j * m + c]);
                    }
                    part[static_cast<size_t>(o * m + c)] += static_cast<float>(sum);
                }
        }
        if (read_noise && !map_.per_cell_read_noise) {
            const double* var = var_[s].data() + static_cast<size_t>(p) * count;
            columns.sums(var, k_, n_, r0, nr, true, sum64.data());
            const uint64_t e0 = output_element(rbase, p, static_cast<int>(s), js, rb, 0, slices, in_slices, rb_count, n_);
            add_lumped_read_noise_rows(noise, e0, first_column, n_, m, sum64.data(), part.data());
        }
        if (!ref_g_.empty()) {
            // Each array's reference column, read with the same inputs, is subtracted from its columns.
            auto& ref = scratch_ref_;
            ref.resize(static_cast<size_t>(cb_count * m));
            sums_to_float(columns, ref_g_[s].data(), cb_count, r0, nr, false, ref.data());
            if (read_noise) {
                auto& rv = scratch_ref_var_;
                rv.resize(ref.size());
                sums_to_float(columns, ref_var_[s].data(), cb_count, r0, nr, true, rv.data());
                for (int64_t cb = 0; cb < cb_count; ++cb) {
                    const uint64_t e = reference_read_element(rbase, weight_read_elements(in_slices), s, static_cast<uint64_t>(in_slices),
                                                              static_cast<uint64_t>(js), static_cast<uint64_t>(rb_count),
                                                              static_cast<uint64_t>(rb), static_cast<uint64_t>(cb_count), static_cast<uint64_t>(cb));
                    for (int64_t c = 0; c < m; ++c) {
                        const auto i = static_cast<size_t>(cb * m + c);
                        ref[i] = add_lumped_read_noise(ref[i], rv[i], noise.normal(e, static_cast<uint32_t>(first_column + static_cast<uint64_t>(c))));
                    }
                }
            }
#pragma omp parallel for schedule(static)
            for (int64_t o = 0; o < n_; ++o) {
                const float* r = ref.data() + (o / map_.array_cols) * m;
                for (int64_t c = 0; c < m; ++c) part[static_cast<size_t>(o * m + c)] = subtract_reference(part[static_cast<size_t>(o * m + c)], r[c]);
            }
        }
    };

    // ADC of every column output in `values`, drift compensation, and the digital shift-add into acc.
    auto digitize = [&](const float* values, size_t s, int p, int js, int64_t rb, float factor) {
        if (observer) observer(static_cast<int>(s), values, n_, m);
        AdcParams prm;
        prm.bits = adc_spec.bits;
        prm.symmetric = adc_spec.symmetric;
        prm.stochastic = adc_spec.stochastic;
        if (prm.bits > 0 && !per_column) {
            const size_t r = adc_spec.hi.size() == 1 ? 0 : s;
            prm.hi = adc_spec.hi[r];
            prm.lo = adc_spec.lo.empty() ? -prm.hi : adc_spec.lo[r];
        }
        const double sign = p == 1 ? -1.0 : 1.0;  // separately digitized pairs: I+ minus I-
        const uint64_t e0 = output_element(rbase, p, static_cast<int>(s), js, rb, 0, slices, in_slices, rb_count, n_);
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < n_; ++o) {
            AdcParams q = prm;
            if (q.bits > 0 && per_column) {
                q.hi = adc_spec.column_hi[s * static_cast<size_t>(n_) + static_cast<size_t>(o)];
                q.lo = adc_spec.column_lo.empty() ? -q.hi : adc_spec.column_lo[s * static_cast<size_t>(n_) + static_cast<size_t>(o)];
            }
            const double scale_o = static_cast<double>(w_scale_[static_cast<size_t>(o)]) * input.range;
            // Drift compensation rescales the array's digitized outputs.
            const float comp = compensation_.empty()
                                   ? 1.0f
                                   : compensation_[s * static_cast<size_t>(rb_count * cb_count) + static_cast<size_t>(rb * cb_count + o / map_.array_cols)];
            // Converted values of this row: a tight loop without draws, which the compiler can
            // vectorize, unless rounding is stochastic.
            float* converted = scratch_adc_.data() + static_cast<size_t>(o * m);
            const float* in = values + o * m;
            if (q.stochastic) {
                for (int64_t c = 0; c < m; ++c)
                    converted[c] = adc(in[c], q, rounding.uniform(e0 + static_cast<uint64_t>(o), static_cast<uint32_t>(first_column + static_cast<uint64_t>(c))));
            } else {
                for (int64_t c = 0; c < m; ++c) converted[c] = adc(in[c], q);
            }
            const float* cs = colsum.data();
            if (direct) {
                float* out = y + o * m;
                for (int64_t c = 0; c < m; ++c) out[c] = static_cast<float>(recombined_term(sign, factor, converted[c], comp, base, cs[c]) * scale_o);
            } else {
                double* a = acc.data() + static_cast<size_t>(o * m);
                for (int64_t c = 0; c < m; ++c) a[c] += recombined_term(sign, factor, converted[c], comp, base, cs[c]);
            }
        }
    };

    // One input slice's reads of every array, digitized (or held, for analog accumulation).
    auto slice_pass = [&](int js, float in_factor, const auto& columns) {
        for (size_t s = 0; s < S; ++s) {
            const float factor = in_factor * weight_slice_factor(rc, static_cast<int>(s));
            for (int64_t rb = 0; rb < rb_count; ++rb) {
                if (base != 0.0f && !analog_sum) column_sums(columns, rb * rows, std::min(rows, k_ - rb * rows));
                for (int p = 0; p < P; ++p) {
                    read(s, p, js, rb, columns);
                    if (!analog_sum) {
                        digitize(part.data(), s, p, js, rb, factor);
                        continue;
                    }
                    // Analog shift-add: the slice's outputs, weighted, join the held charge.
                    float* held = pending.data() + ((s * static_cast<size_t>(rb_count) + static_cast<size_t>(rb)) * static_cast<size_t>(P) + static_cast<size_t>(p)) * nm;
#pragma omp parallel for schedule(static)
                    for (int64_t i = 0; i < static_cast<int64_t>(nm); ++i) held[i] = hold_input_slice(held[i], in_factor, part[static_cast<size_t>(i)]);
                }
            }
        }
    };

    // The whole (DAC'd) input, for the zero point's current after analog accumulation and the
    // offset constant.
    auto whole_input = [&]() -> decltype(auto) {
        if constexpr (conv)
            return *xq;
        else
            return MatrixColumns<T>{xq, nullptr, nullptr, m};
    };
    if constexpr (conv) {
        if (!serial) {
            slice_pass(0, 1.0f, *xq);
        } else {
            ConvColumns sliced;
            for (int js = 0; js < in_slices; ++js) {
                sliced.assign_mapped(*xq, [&](float v) { return input_slice_value(v, n_x, js, input.slice_bits); });
                slice_pass(js, input_slice_factor(js, input.slice_bits, n_x), sliced);
            }
        }
    } else {
        const int64_t total_in = k_ * m;
        for (int js = 0; js < in_slices; ++js) {
            const T* xin = xq;
            float in_factor = 1.0f;
            MatrixColumns<T> columns{xin, nullptr, nullptr, m};
            if constexpr (std::is_same_v<T, float>) {
                if (serial) {
                    scratch_slice_.resize(static_cast<size_t>(total_in));
#pragma omp parallel for schedule(static)
                    for (int64_t i = 0; i < total_in; ++i) scratch_slice_[static_cast<size_t>(i)] = input_slice_value(xq[i], n_x, js, input.slice_bits);
                    xin = scratch_slice_.data();
                    in_factor = input_slice_factor(js, input.slice_bits, n_x);
                }
                // The driven inputs in double for the array sums.
#pragma omp parallel for schedule(static)
                for (int64_t i = 0; i < total_in; ++i) x64[static_cast<size_t>(i)] = static_cast<double>(xin[i]);
                columns = {xin, x64.data(), nullptr, m};
            } else {
                columns.x64 = xin;
            }
            // The squares of the driven inputs, for the read-noise variance: rounded to float
            // first, as on every backend.
            if (read_noise) {
#pragma omp parallel for schedule(static)
                for (int64_t i = 0; i < total_in; ++i) {
                    const auto v = static_cast<float>(xin[i]);
                    sq64[static_cast<size_t>(i)] = static_cast<double>(v * v);
                }
                columns.sq64 = sq64.data();
            }
            slice_pass(js, in_factor, columns);
        }
    }
    if (analog_sum) {
        // One conversion per array output after all input slices; the zero point's current is that
        // of the whole (DAC'd) input.
        for (size_t s = 0; s < S; ++s)
            for (int64_t rb = 0; rb < rb_count; ++rb) {
                if (base != 0.0f) column_sums(whole_input(), rb * rows, std::min(rows, k_ - rb * rows));
                for (int p = 0; p < P; ++p)
                    digitize(pending.data() + ((s * static_cast<size_t>(rb_count) + static_cast<size_t>(rb)) * static_cast<size_t>(P) + static_cast<size_t>(p)) * nm,
                             s, p, 0, rb, weight_slice_factor(rc, static_cast<int>(s)));
            }
    }
    if (constant != 0.0f) {
        column_sums(whole_input(), 0, k_);
        for (int64_t o = 0; o < n_; ++o)
            for (int64_t c = 0; c < m; ++c) acc[static_cast<size_t>(o * m + c)] += constant * colsum[static_cast<size_t>(c)];
    }
    if (direct) return;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < n_; ++o) {
        const double scale = static_cast<double>(w_scale_[static_cast<size_t>(o)]) * input.range;
        for (int64_t c = 0; c < m; ++c) {
            const auto i = static_cast<size_t>(o * m + c);
            y[i] = static_cast<float>(acc[i] * scale);
        }
    }
}

}  // namespace xbarsim::analog
