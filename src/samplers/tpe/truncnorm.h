// The truncated standard normal that TPE's Parzen kernels are made of: log-CDF, log probability mass of an
// interval, log density and quantile, all accurate far into either tail (an old observation may lie many
// bandwidths outside the current range, where a naive Φ underflows).
#pragma once

namespace dial::internal::tpe {

// log Φ(z), Φ the standard normal CDF; finite for every finite z.
double LogNdtr(double z);

// Φ⁻¹(p) for p ∈ (0, 1); −inf at 0 and +inf at 1.
double Ndtri(double p);

// The z with log Φ(z) = log_p, for log_p ≤ 0 (also when exp(log_p) underflows).
double NdtriExp(double log_p);

// log(Φ(b) − Φ(a)) for a ≤ b, computed in the tail where it is accurate; −inf when a == b.
double LogGaussMass(double a, double b);

// log density at z of the standard normal truncated to [a, b]:
//   log φ(z) − log(Φ(b) − Φ(a)),  φ(z) = exp(−z²/2) / √(2π);  −inf outside [a, b].
double TruncNormLogPdf(double z, double a, double b);

// The u-quantile of the standard normal truncated to [a, b] (a < b), u ∈ [0, 1]: the inverse-CDF draw
//   z = Φ⁻¹(Φ(a) + u (Φ(b) − Φ(a))),
// evaluated on the side of 0 where the CDF has full relative precision. The result lies in [a, b].
double TruncNormPpf(double u, double a, double b);

}  // namespace dial::internal::tpe
