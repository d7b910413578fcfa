#include "xbarsim/analog/analog_matrix.hpp"

#include <algorithm>
#include <cmath>

#include "cpu_ops.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::analog {

namespace {

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
}

}  // namespace

AnalogMatrix::AnalogMatrix(const float* w, int64_t n_out, int64_t k_in, const MatrixMapping& mapping)
    : map_(mapping), n_(n_out), k_(k_in) {
    validate(map_);
    const auto count = static_cast<size_t>(n_ * k_);
    if (map_.w_max > 0.0f) {
        w_max_ = map_.w_max;
    } else {
        for (size_t i = 0; i < count; ++i) w_max_ = std::max(w_max_, std::fabs(w[i]));
        if (w_max_ == 0.0f) w_max_ = 1.0f;  // an all-zero matrix: any scale maps it to zero conductance
    }
    const float gmin = map_.g_min;
    const bool sliced = map_.slices > 1;
    const bool offset = map_.mapping == Mapping::Offset;
    if (map_.weight_bits > 0) {
        codes_.resize(count);
        for (size_t i = 0; i < count; ++i) codes_[i] = quantize_weight(w[i] / w_max_, map_.weight_bits);
    } else {
        w_norm_.resize(count);
        for (size_t i = 0; i < count; ++i) w_norm_[i] = clampf(w[i] / w_max_, -1.0f, 1.0f);
    }
    const int32_t n_levels = map_.weight_bits > 0 ? signed_max_level(map_.weight_bits) : 0;
    if (sliced) {
        // Differential slices the magnitude (weight_bits - 1 bits), offset the shifted code
        // q + 2^(bits-1) (weight_bits bits); each slice's cell holds slice_bits bits.
        const int code_bits = offset ? map_.weight_bits : map_.weight_bits - 1;
        slice_bits_ = (code_bits + map_.slices - 1) / map_.slices;
        const size_t cells = offset ? count : 2 * count;  // differential: g+ cells, then g- cells
        targets_.assign(static_cast<size_t>(map_.slices), std::vector<float>(cells));
        const int32_t zero = offset ? (int32_t{1} << (map_.weight_bits - 1)) : 0;
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
    program(DeviceParams{}, NoiseIds{});  // ideal: conductances at their targets
}

uint64_t AnalogMatrix::element_count() const {
    return targets_.empty() ? 0 : static_cast<uint64_t>(targets_.size() * targets_[0].size());
}

void AnalogMatrix::program(const DeviceParams& device, const NoiseIds& ids) {
    device_ = device;
    ids_ = ids;
    const bool offset = map_.mapping == Mapping::Offset;
    const auto count = static_cast<size_t>(n_ * k_);
    const size_t polarities = offset ? 1 : 2;
    const float t = device.drift.enabled ? device.drift.time_s : 0.0f;
    const bool read_noise = device.read_noise.enabled;
    const bool compensate = device.drift.enabled && device.drift.compensation;
    const int64_t rb_count = row_blocks(), cb_count = col_blocks();
    g_.assign(targets_.size(), std::vector<float>(count));
    var_.assign(read_noise ? targets_.size() : 0, std::vector<float>(count));
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
                const float target = targets_[s][p * count + i];
                const uint64_t e = ids.element_base + (s * polarities + p) * count + i;
                // Programming error and drift are drawn once per chip instance (trial).
                const float programmed = apply_programming(device, target, prog.normal(e), prog.uniform(e, 1));
                const float nu = drift_nu(device, target, drift.normal(e));
                const float z = accumulated.normal(e);
                now[p] = conductance_at_time(device, programmed, nu, t, z);
                if (compensate) {
                    at0[p * count + i] = conductance_at_time(device, programmed, nu, 0.0f, z);
                    at_t[p * count + i] = now[p];
                }
            }
            g_[s][i] = offset ? now[0] : now[0] - now[1];
            if (read_noise) {
                const float a = read_noise_sigma(device, now[0]), b = offset ? 0.0f : read_noise_sigma(device, now[1]);
                var_[s][i] = a * a + b * b;
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
}

std::vector<float> AnalogMatrix::quantized_weights() const {
    std::vector<float> out(static_cast<size_t>(n_ * k_));
    if (codes_.empty()) {
        for (size_t i = 0; i < out.size(); ++i) out[i] = w_norm_[i] * w_max_;
        return out;
    }
    const auto n = static_cast<float>(signed_max_level(map_.weight_bits));
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(codes_[i]) / n * w_max_;
    return out;
}

void AnalogMatrix::mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y) const {
    mvm(x, m, input, adc_spec, y, nullptr);
}

void dac_all(const float* x, int64_t count, const InputSpec& input, float* xq) {
    if (!(input.range > 0.0f)) throw Error("analog mvm: input range must be positive");
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) xq[i] = dac(x[i], input.range, input.bits, input.is_signed);
}

void AnalogMatrix::mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                       const PartialSumObserver& observer) const {
    std::vector<float> xq(static_cast<size_t>(k_ * m));
    dac_all(x, k_ * m, input, xq.data());
    mvm_quantized(xq.data(), m, input, adc_spec, y, observer);
}

void AnalogMatrix::mvm_quantized(const float* xq, int64_t m, const InputSpec& input, const AdcSpec& adc_spec, float* y,
                                 const PartialSumObserver& observer, uint64_t first_column) const {
    const auto slices = static_cast<size_t>(this->slices());
    if (adc_spec.bits > 0 && (adc_spec.hi.empty() || (adc_spec.hi.size() != 1 && adc_spec.hi.size() != slices)))
        throw Error("analog mvm: the ADC needs one range for all slices or one per slice");

    // Digital recombination: each slice's ADC output a contributes factor_s * (a - base * sum(x)),
    // plus constant * sum over all x (offset zero point), all times W_max * input range.
    const bool offset = map_.mapping == Mapping::Offset;
    const bool sliced = slices > 1;
    const float dg = 1.0f - map_.g_min;
    const float n_levels = map_.weight_bits > 0 ? static_cast<float>(signed_max_level(map_.weight_bits)) : 1.0f;
    const float base = offset ? (sliced ? map_.g_min : map_.g_min + 0.5f * dg) : 0.0f;
    const float constant = offset && sliced ? -static_cast<float>(int64_t{1} << (map_.weight_bits - 1)) / n_levels : 0.0f;

    const int64_t rows = map_.array_rows;
    std::vector<float>& part = scratch_part_;
    std::vector<float>& colsum = scratch_colsum_;
    std::vector<double>& acc = scratch_acc_;
    part.resize(static_cast<size_t>(n_ * m));
    colsum.assign(static_cast<size_t>(m), 0.0f);
    acc.assign(static_cast<size_t>(n_ * m), 0.0);
    // Bit-serial inputs: slice j carries input_slice(code, j) / (2^sx - 1) and weighs
    // f_j = 2^(j sx) (2^sx - 1) / n_x in the digital shift-add; otherwise one slice with f = 1.
    const bool serial = input.slice_bits > 0 && input.bits > 0;
    const int32_t n_x = input.bits > 0 ? (input.is_signed ? signed_max_level(input.bits) : unsigned_max_level(input.bits)) : 1;
    const int magnitude_bits = input.is_signed ? input.bits - 1 : input.bits;
    const int in_slices = serial ? slice_count(magnitude_bits, input.slice_bits) : 1;
    const float slice_top = serial ? static_cast<float>(unsigned_max_level(input.slice_bits)) : 1.0f;
    // Lumped read noise: each column output gets a Gaussian of variance sum_j var(g_oj) x_j^2, the
    // exact distribution of the sum of independent per-cell Gaussians, from one extra GEMM.
    const bool read_noise = !var_.empty();
    if (read_noise) {
        scratch_sq_.resize(static_cast<size_t>(k_ * m));
        scratch_var_.resize(static_cast<size_t>(n_ * m));
    }
    const RngStream noise{ids_.seed, ids_.trial, ids_.layer, RngRole::ReadNoise};
    const RngStream rounding{ids_.seed, ids_.trial, ids_.layer, RngRole::AdcRounding};
    const int64_t rb_count = row_blocks(), cb_count = col_blocks();
    const int64_t total_in = k_ * m;
    for (int js = 0; js < in_slices; ++js) {
        const float* xin = xq;
        float in_factor = 1.0f;
        if (serial) {
            scratch_slice_.resize(static_cast<size_t>(total_in));
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < total_in; ++i) {
                const auto code = static_cast<int32_t>(round_even(xq[i] * static_cast<float>(n_x)));
                scratch_slice_[static_cast<size_t>(i)] = static_cast<float>(input_slice(code, js, input.slice_bits)) / slice_top;
            }
            xin = scratch_slice_.data();
            in_factor = std::ldexp(slice_top, js * input.slice_bits) / static_cast<float>(n_x);
        }
        if (read_noise)
            for (int64_t i = 0; i < total_in; ++i) scratch_sq_[static_cast<size_t>(i)] = xin[i] * xin[i];
        for (size_t s = 0; s < slices; ++s) {
            const float factor = in_factor * (sliced ? std::ldexp(static_cast<float>(unsigned_max_level(slice_bits_)), static_cast<int>(s) * slice_bits_) / (dg * n_levels)
                                                     : (offset ? 2.0f : 1.0f) / dg);
            AdcParams p;
            p.bits = adc_spec.bits;
            p.symmetric = adc_spec.symmetric;
            p.stochastic = adc_spec.stochastic;
            if (p.bits > 0) {
                const size_t r = adc_spec.hi.size() == 1 ? 0 : s;
                p.hi = adc_spec.hi[r];
                p.lo = adc_spec.lo.empty() ? -p.hi : adc_spec.lo[r];
            }
            for (int64_t r0 = 0; r0 < k_; r0 += rows) {
                const int64_t nr = std::min(rows, k_ - r0);
                // part[n x m] = G_s[:, r0:r0+nr] . x[r0:r0+nr, :] — every column of every array block at once.
                cpu::sgemm(false, false, n_, m, nr, 1.0f, g_[s].data() + r0, k_, xin + r0 * m, m, 0.0f, part.data(), m,
                           nullptr);
                const int64_t rb = r0 / rows;
                // Draws of this array output: element (weight slice, input slice, row block, output), sample
                // the input vector.
                const uint64_t e0 = ids_.element_base +
                                    ((s * static_cast<uint64_t>(in_slices) + static_cast<uint64_t>(js)) * static_cast<uint64_t>(rb_count) +
                                     static_cast<uint64_t>(rb)) * static_cast<uint64_t>(n_);
                if (read_noise && map_.per_cell_read_noise) {
                    // Validation mode: every cell pair gets its own draw for every input vector; elements
                    // are the cells (weight slice, input slice, output, input).
                    const uint64_t cell0 = ids_.element_base +
                                           (s * static_cast<uint64_t>(in_slices) + static_cast<uint64_t>(js)) * static_cast<uint64_t>(n_ * k_);
#pragma omp parallel for schedule(static)
                    for (int64_t o = 0; o < n_; ++o)
                        for (int64_t c = 0; c < m; ++c) {
                            double sum = 0.0;
                            for (int64_t j = r0; j < r0 + nr; ++j) {
                                const float v = var_[s][static_cast<size_t>(o * k_ + j)];
                                if (v <= 0.0f) continue;
                                const float z = noise.normal(cell0 + static_cast<uint64_t>(o * k_ + j), static_cast<uint32_t>(first_column + static_cast<uint64_t>(c)));
                                sum += static_cast<double>(std::sqrt(v) * z) * xin[j * m + c];
                            }
                            part[static_cast<size_t>(o * m + c)] += static_cast<float>(sum);
                        }
                } else if (read_noise) {
                    cpu::sgemm(false, false, n_, m, nr, 1.0f, var_[s].data() + r0, k_, scratch_sq_.data() + r0 * m, m, 0.0f,
                               scratch_var_.data(), m, nullptr);
#pragma omp parallel for schedule(static)
                    for (int64_t o = 0; o < n_; ++o)
                        for (int64_t c = 0; c < m; ++c) {
                            const auto i = static_cast<size_t>(o * m + c);
                            const float z = noise.normal(e0 + static_cast<uint64_t>(o), static_cast<uint32_t>(first_column + static_cast<uint64_t>(c)));
                            part[i] += std::sqrt(scratch_var_[i]) * z;
                        }
                }
                if (observer) observer(static_cast<int>(s), part.data(), n_ * m);
                if (base != 0.0f) {
                    std::fill(colsum.begin(), colsum.end(), 0.0f);
                    for (int64_t j = r0; j < r0 + nr; ++j)
                        for (int64_t c = 0; c < m; ++c) colsum[static_cast<size_t>(c)] += xin[j * m + c];
                }
#pragma omp parallel for schedule(static)
                for (int64_t o = 0; o < n_; ++o) {
                    // Drift compensation rescales the array's digitized outputs.
                    const float comp = compensation_.empty()
                                           ? 1.0f
                                           : compensation_[s * static_cast<size_t>(rb_count * cb_count) + static_cast<size_t>(rb * cb_count + o / map_.array_cols)];
                    for (int64_t c = 0; c < m; ++c) {
                        const size_t i = static_cast<size_t>(o * m + c);
                        const float u = p.stochastic ? rounding.uniform(e0 + static_cast<uint64_t>(o), static_cast<uint32_t>(first_column + static_cast<uint64_t>(c))) : 0.5f;
                        const float a = adc(part[i], p, u) * comp;
                        acc[i] += static_cast<double>(factor) * (a - base * colsum[static_cast<size_t>(c)]);
                    }
                }
            }
        }
    }
    if (constant != 0.0f) {
        std::fill(colsum.begin(), colsum.end(), 0.0f);
        for (int64_t j = 0; j < k_; ++j)
            for (int64_t c = 0; c < m; ++c) colsum[static_cast<size_t>(c)] += xq[j * m + c];
        for (int64_t o = 0; o < n_; ++o)
            for (int64_t c = 0; c < m; ++c) acc[static_cast<size_t>(o * m + c)] += constant * colsum[static_cast<size_t>(c)];
    }
    const double scale = static_cast<double>(w_max_) * input.range;
    const auto total_out = static_cast<int64_t>(acc.size());
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < total_out; ++i) y[i] = static_cast<float>(acc[static_cast<size_t>(i)] * scale);
}

}  // namespace xbarsim::analog
