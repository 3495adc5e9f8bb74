// Fused CPU recurrences for GRU, Elman RNN and LSTM layers (seqnet.nn.fused).
//
// One call runs a whole layer and direction: per step one matmul for the hidden projection and one
// loop for every gate, instead of ATen's handful of autograd-recorded ops per step. Rows are sorted
// longest first; at step t only the rows still active (length > t) are computed, so padding is
// skipped exactly, as packing would, outputs past a row's length stay zero, and the state a row
// holds when the loop ends is its state after its last valid step. The backward pass replays the
// steps in reverse and forms the hidden weights' gradient in one matmul at the end.
//
// Shapes: gi (B, T, G*H) input projections with the input bias (G = 3 for a GRU, 1 for an Elman
// RNN, 4 for an LSTM, in torch's gate order), h0 and c0 (B, H) (c0 empty but for an LSTM),
// w_hh (G*H, H), b_hh (G*H), lengths (B) sorted longest first, all >= 1.
#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace {

enum Kind : int64_t { kGRU = 0, kTanh = 1, kRelu = 2, kLSTM = 3 };

int64_t gates_of(int64_t kind) { return kind == kGRU ? 3 : (kind == kLSTM ? 4 : 1); }

// Rows active at step t, lengths sorted longest first: those longer than t.
int64_t active_rows(const std::vector<int64_t>& lengths, int64_t t) {
  return std::partition_point(lengths.begin(), lengths.end(), [t](int64_t n) { return n > t; }) - lengths.begin();
}

// The file is built with fast math (vectorised exp and tanh), under which the compiler may assume
// no NaN and drop one through any comparison (a clamp, a ReLU). Read as an integer, the exponent
// and mantissa show a NaN beyond that assumption.
template <typename scalar_t>
inline bool is_nan(scalar_t x) {
  using bits_t = std::conditional_t<sizeof(scalar_t) == 4, uint32_t, uint64_t>;
  constexpr bits_t infinity = sizeof(scalar_t) == 4 ? bits_t(0x7f800000u) : bits_t(0x7ff0000000000000ull);
  bits_t bits;
  std::memcpy(&bits, &x, sizeof(x));
  return (bits & ~(bits_t(1) << (8 * sizeof(bits_t) - 1))) > infinity;
}

// Fast math's exp and tanh also assume finite results, and return NaN where exp would overflow,
// so their arguments are clamped first: to where exp stays finite, and to where tanh is +-1 to
// the last bit.
template <typename scalar_t>
inline scalar_t clamp(scalar_t x, scalar_t bound) {
  const scalar_t clamped = x > bound ? bound : (x < -bound ? -bound : x);
  return is_nan(x) ? x : clamped;
}

template <typename scalar_t>
inline scalar_t sigmoid(scalar_t x) {
  constexpr scalar_t bound = sizeof(scalar_t) == 4 ? 80 : 700;
  return scalar_t(1) / (scalar_t(1) + std::exp(-clamp(x, bound)));
}

template <typename scalar_t>
inline scalar_t tanh(scalar_t x) {
  constexpr scalar_t bound = sizeof(scalar_t) == 4 ? 20 : 40;
  return std::tanh(clamp(x, bound));
}

template <typename scalar_t>
inline scalar_t relu(scalar_t x) {
  return x > scalar_t(0) || is_nan(x) ? x : scalar_t(0);
}

// Rows per task: ATen's grain for elementwise work, so small batches stay on one thread.
int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, at::internal::GRAIN_SIZE / width); }

// A tensor's data, or null where the kind has none (an empty tensor).
template <typename scalar_t>
scalar_t* data_or_null(const at::Tensor& tensor) {
  return tensor.numel() ? tensor.data_ptr<scalar_t>() : nullptr;
}

// Step `slot` of a saved (slots, B, .) buffer, or null where the kind saves none (no slots).
template <typename scalar_t>
scalar_t* step_of(const at::Tensor& saved, int64_t slot) {
  return saved.size(0) ? saved.data_ptr<scalar_t>() + slot * saved.stride(0) : nullptr;
}

// What a step saves for backward, each (T, B, .) when kept, else (1, B, .) scratch: the hidden
// projections (a GRU's backward reads them), the gates (GRU, LSTM) and the cell states (LSTM).
struct Saved {
  at::Tensor hidden, gates, cells;
};

template <typename scalar_t>
void forward_loop(int64_t kind, const at::Tensor& gi, at::Tensor& h, at::Tensor& c, const at::Tensor& w_hh,
                  const at::Tensor& b_hh, const std::vector<int64_t>& lengths, at::Tensor& out, Saved& saved,
                  bool keep) {
  const int64_t T = gi.size(1), H = h.size(1), G = gates_of(kind);
  const auto wt = w_hh.t();
  const scalar_t* gi_p = gi.data_ptr<scalar_t>();
  scalar_t* out_p = out.data_ptr<scalar_t>();
  scalar_t* h_p = h.data_ptr<scalar_t>();
  scalar_t* c_p = data_or_null<scalar_t>(c);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t rows = active_rows(lengths, t);
    if (rows == 0) break;
    const int64_t slot = keep ? t : 0;
    auto projected = saved.hidden[kind == kGRU ? slot : 0].narrow(0, 0, rows);  // (rows, G*H)
    at::addmm_out(projected, b_hh, h.narrow(0, 0, rows), wt);
    const scalar_t* gh_p = projected.data_ptr<scalar_t>();
    scalar_t* gate_p = step_of<scalar_t>(saved.gates, slot);
    scalar_t* cell_p = step_of<scalar_t>(saved.cells, slot);
    at::parallel_for(0, rows, grain_rows(G * H), [&](int64_t first, int64_t last) {
      for (int64_t b = first; b < last; ++b) {
        const scalar_t* x = gi_p + (b * T + t) * G * H;
        const scalar_t* r_h = gh_p + b * G * H;
        scalar_t* y = out_p + (b * T + t) * H;
        scalar_t* state = h_p + b * H;
        if (kind == kLSTM) {
          scalar_t* g = gate_p + b * G * H;
          scalar_t* cell = c_p + b * H;
          scalar_t* kept_cell = cell_p + b * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t i = sigmoid(x[j] + r_h[j]);
            const scalar_t f = sigmoid(x[H + j] + r_h[H + j]);
            const scalar_t n = tanh(x[2 * H + j] + r_h[2 * H + j]);
            const scalar_t o = sigmoid(x[3 * H + j] + r_h[3 * H + j]);
            const scalar_t next_cell = f * cell[j] + i * n;
            const scalar_t next = o * tanh(next_cell);
            g[j] = i;
            g[H + j] = f;
            g[2 * H + j] = n;
            g[3 * H + j] = o;
            kept_cell[j] = next_cell;
            cell[j] = next_cell;
            y[j] = next;
            state[j] = next;
          }
        } else if (kind == kGRU) {
          scalar_t* g = gate_p + b * G * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t r = sigmoid(x[j] + r_h[j]);
            const scalar_t z = sigmoid(x[H + j] + r_h[H + j]);
            const scalar_t n = tanh(x[2 * H + j] + r * r_h[2 * H + j]);
            const scalar_t next = n + z * (state[j] - n);
            g[j] = r;
            g[H + j] = z;
            g[2 * H + j] = n;
            y[j] = next;
            state[j] = next;
          }
        } else if (kind == kTanh) {
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t next = tanh(x[j] + r_h[j]);
            y[j] = next;
            state[j] = next;
          }
        } else {
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t next = relu(x[j] + r_h[j]);
            y[j] = next;
            state[j] = next;
          }
        }
      }
    });
  }
}

// d_h and d_c enter holding the gradients of the final states: a row's own stays there untouched
// until the loop reaches its last valid step.
template <typename scalar_t>
void backward_loop(int64_t kind, const at::Tensor& d_out, const at::Tensor& h0, const at::Tensor& c0,
                   const at::Tensor& w_hh, const at::Tensor& out, const Saved& saved,
                   const std::vector<int64_t>& lengths, at::Tensor& d_gi, at::Tensor& d_hidden, at::Tensor& d_h,
                   at::Tensor& d_c) {
  const int64_t B = out.size(0), T = out.size(1), H = out.size(2), G = gates_of(kind);
  const scalar_t* d_out_p = d_out.data_ptr<scalar_t>();
  const scalar_t* out_p = out.data_ptr<scalar_t>();
  const scalar_t* h0_p = h0.data_ptr<scalar_t>();
  const scalar_t* c0_p = data_or_null<scalar_t>(c0);
  scalar_t* d_gi_p = d_gi.data_ptr<scalar_t>();
  scalar_t* d_hidden_p = d_hidden.data_ptr<scalar_t>();
  scalar_t* d_h_p = d_h.data_ptr<scalar_t>();
  scalar_t* d_c_p = data_or_null<scalar_t>(d_c);
  // A GRU's h_{t-1} also gets the gradient through z directly, besides the hidden projection's.
  auto direct = kind == kGRU ? at::empty_like(d_h) : at::Tensor();  // (B, H)
  scalar_t* direct_p = data_or_null<scalar_t>(direct);
  for (int64_t t = T - 1; t >= 0; --t) {
    const int64_t rows = active_rows(lengths, t);
    if (rows == 0) continue;
    const scalar_t* gh_p = kind == kGRU ? step_of<scalar_t>(saved.hidden, t) : nullptr;  // others keep one slot
    const scalar_t* gate_p = step_of<scalar_t>(saved.gates, t);
    const scalar_t* cell_p = step_of<scalar_t>(saved.cells, t);
    const scalar_t* previous_cell_p = t > 0 ? step_of<scalar_t>(saved.cells, t - 1) : c0_p;
    at::parallel_for(0, rows, grain_rows(G * H), [&](int64_t first, int64_t last) {
      for (int64_t b = first; b < last; ++b) {
        const scalar_t* upstream = d_out_p + (b * T + t) * H;
        const scalar_t* y = out_p + (b * T + t) * H;
        scalar_t* dx = d_gi_p + (b * T + t) * G * H;
        scalar_t* dh = d_h_p + b * H;
        if (kind == kLSTM) {
          const scalar_t* g = gate_p + b * G * H;
          const scalar_t* cell = cell_p + b * H;
          const scalar_t* previous_cell = previous_cell_p + b * H;
          scalar_t* dc = d_c_p + b * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t grad = dh[j] + upstream[j];
            const scalar_t i = g[j], f = g[H + j], n = g[2 * H + j], o = g[3 * H + j];
            const scalar_t squashed = tanh(cell[j]);
            const scalar_t d_cell = dc[j] + grad * o * (scalar_t(1) - squashed * squashed);
            dx[j] = d_cell * n * i * (scalar_t(1) - i);
            dx[H + j] = d_cell * previous_cell[j] * f * (scalar_t(1) - f);
            dx[2 * H + j] = d_cell * i * (scalar_t(1) - n * n);
            dx[3 * H + j] = grad * squashed * o * (scalar_t(1) - o);
            dc[j] = d_cell * f;
          }
        } else if (kind == kGRU) {
          const scalar_t* previous = t > 0 ? out_p + (b * T + t - 1) * H : h0_p + b * H;
          const scalar_t* r_h = gh_p + b * G * H;
          const scalar_t* g = gate_p + b * G * H;
          scalar_t* dh_hidden = d_hidden_p + (b * T + t) * G * H;
          scalar_t* through = direct_p + b * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t grad = dh[j] + upstream[j];
            const scalar_t r = g[j], z = g[H + j], n = g[2 * H + j];
            const scalar_t dn = grad * (scalar_t(1) - z) * (scalar_t(1) - n * n);
            const scalar_t dz = grad * (previous[j] - n) * z * (scalar_t(1) - z);
            const scalar_t dr = dn * r_h[2 * H + j] * r * (scalar_t(1) - r);
            dx[j] = dr;
            dx[H + j] = dz;
            dx[2 * H + j] = dn;
            dh_hidden[j] = dr;
            dh_hidden[H + j] = dz;
            dh_hidden[2 * H + j] = dn * r;
            through[j] = grad * z;
          }
        } else {
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t slope = kind == kTanh ? scalar_t(1) - y[j] * y[j] : scalar_t(y[j] > scalar_t(0));
            dx[j] = (dh[j] + upstream[j]) * slope;
          }
        }
      }
    });
    // h_{t-1} gets d(hidden projection) @ w_hh (plus, for a GRU, the path through z).
    auto d_h_rows = d_h.narrow(0, 0, rows);
    const auto d_projection = d_hidden.select(1, t).narrow(0, 0, rows);  // (rows, G*H)
    if (kind == kGRU) {
      at::addmm_out(d_h_rows, direct.narrow(0, 0, rows), d_projection, w_hh);
    } else {
      at::mm_out(d_h_rows, d_projection, w_hh);
    }
  }
}

void check_inputs(int64_t kind, const at::Tensor& gi, const at::Tensor& h0, const at::Tensor& c0,
                  const at::Tensor& w_hh, const at::Tensor& b_hh, const std::vector<int64_t>& lengths) {
  const int64_t H = h0.size(-1), G = gates_of(kind);
  TORCH_CHECK(gi.dim() == 3 && gi.is_contiguous() && gi.size(2) == G * H,
              "seqnet fused recurrence: gi must be contiguous (B, T, G*H) with G*H = ", G * H, ", got ", gi.sizes());
  TORCH_CHECK(h0.dim() == 2 && h0.size(0) == gi.size(0), "seqnet fused recurrence: h0 must be (B, H) with B = ",
              gi.size(0), ", got ", h0.sizes());
  TORCH_CHECK(kind != kLSTM || c0.sizes() == h0.sizes(), "seqnet fused recurrence: c0 must be ", h0.sizes(),
              " like h0, got ", c0.sizes());
  TORCH_CHECK(w_hh.sizes() == at::IntArrayRef({G * H, H}) && b_hh.sizes() == at::IntArrayRef({G * H}),
              "seqnet fused recurrence: w_hh must be (", G * H, ", ", H, ") and b_hh (", G * H, "), got ",
              w_hh.sizes(), " and ", b_hh.sizes());
  TORCH_CHECK(static_cast<int64_t>(lengths.size()) == gi.size(0) && (lengths.empty() || lengths.back() >= 1) &&
                  std::is_sorted(lengths.rbegin(), lengths.rend()) && (lengths.empty() || lengths[0] <= gi.size(1)),
              "seqnet fused recurrence: lengths must be B = ", gi.size(0),
              " values sorted longest first, each in [1, T]");
}

// -> out (B, T, H), h_n and c_n (B, H) (c_n empty but for an LSTM), and what backward needs
// (`Saved`, each (T, B, .) when `keep`).
std::vector<at::Tensor> forward(int64_t kind, const at::Tensor& gi, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& w_hh, const at::Tensor& b_hh, const std::vector<int64_t>& lengths,
                                bool keep) {
  check_inputs(kind, gi, h0, c0, w_hh, b_hh, lengths);
  const int64_t B = gi.size(0), T = gi.size(1), H = h0.size(1), G = gates_of(kind);
  const int64_t slots = keep ? T : 1;
  auto out = at::zeros({B, T, H}, gi.options());
  Saved saved{at::empty({kind == kGRU ? slots : 1, B, G * H}, gi.options()),
              at::empty({kind == kGRU || kind == kLSTM ? slots : 0, B, G * H}, gi.options()),
              at::empty({kind == kLSTM ? slots : 0, B, H}, gi.options())};
  auto h = h0.contiguous().clone();
  auto c = kind == kLSTM ? c0.contiguous().clone() : at::empty({0}, gi.options());
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "seqnet_fused_forward", [&] {
    forward_loop<scalar_t>(kind, gi, h, c, w_hh, b_hh, lengths, out, saved, keep);
  });
  return {out, h, c, saved.hidden, saved.gates, saved.cells};
}

// -> d_gi (B, T, G*H), d_h0, d_c0 (B, H) (d_c0 empty but for an LSTM), d_w_hh, d_b_hh.
std::vector<at::Tensor> backward(int64_t kind, const at::Tensor& d_out, const at::Tensor& d_hn,
                                 const at::Tensor& d_cn, const at::Tensor& h0, const at::Tensor& c0,
                                 const at::Tensor& w_hh, const at::Tensor& out, const at::Tensor& hidden,
                                 const at::Tensor& gates, const at::Tensor& cells, const std::vector<int64_t>& lengths) {
  const int64_t B = out.size(0), T = out.size(1), H = out.size(2), G = gates_of(kind);
  auto d_out_c = d_out.contiguous();
  auto h0_c = h0.contiguous();
  auto d_gi = at::zeros({B, T, G * H}, out.options());
  // The hidden projection's gradient equals the gates' but for a GRU's candidate (scaled by r).
  auto d_hidden = kind == kGRU ? at::zeros({B, T, G * H}, out.options()) : d_gi;
  auto d_h = d_hn.contiguous().clone();
  auto d_c = kind == kLSTM ? d_cn.contiguous().clone() : at::empty({0}, out.options());
  const Saved saved{hidden, gates, cells};
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "seqnet_fused_backward", [&] {
    backward_loop<scalar_t>(kind, d_out_c, h0_c, c0.contiguous(), w_hh, out, saved, lengths, d_gi, d_hidden, d_h,
                            d_c);
  });
  // Each step's hidden projection read h_{t-1}: h0 at t = 0, the previous output after.
  auto previous = at::cat({h0_c.unsqueeze(1), out.narrow(1, 0, T - 1)}, 1).view({B * T, H});
  auto d_hidden_rows = d_hidden.view({B * T, G * H});
  return {d_gi, d_h, d_c, at::mm(d_hidden_rows.t(), previous), d_hidden_rows.sum(0)};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "fused recurrence over a layer (see recurrence.cpp)");
  m.def("backward", &backward, "its gradients");
}
