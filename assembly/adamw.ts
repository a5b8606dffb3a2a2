// AdamW exactly as torch.optim.AdamW(foreach=False) does it in float32
// (torch/optim/adamw.py, _single_tensor_adamw), for step t = 1, 2, ...:
//   w = w * (1 - lr*wd)
//   m = b1*m + (1-b1)*g
//   v = b2*v + (1-b2)*g*g
//   w = w - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The scalars are formed in f64 (Python floats) and rounded to f32 once, as PyTorch's
// CPU kernels do with a Python scalar operand. Every float is updated on its own: the host
// calls this over each parameter tensor in chunks (adamw_step_at), and a frozen tensor is
// simply not passed (no update, no decay).

/**
 * adamw_step with its settings and step read from `hyper`, f64 [lr, beta1, beta2, eps,
 * weight_decay, t]: calls that stay the same from step to step (a worker pool keeps them).
 */
export function adamw_step_at(w: usize, g: usize, m: usize, v: usize, n: i32, hyper: usize): void {
  adamw_step(w, g, m, v, n, load<f64>(hyper), load<f64>(hyper, 8), load<f64>(hyper, 16), load<f64>(hyper, 24), load<f64>(hyper, 32), <i32>load<f64>(hyper, 40));
}

export function adamw_step(w: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, beta1: f64,
                           beta2: f64, eps: f64, weight_decay: f64, t: i32): void {
  const decay = f32x4.splat(<f32>(1 - lr * weight_decay));
  const b1 = f32x4.splat(<f32>beta1), one_b1 = f32x4.splat(<f32>(1 - beta1));
  const b2 = f32x4.splat(<f32>beta2), one_b2 = f32x4.splat(<f32>(1 - beta2));
  const step_size = f32x4.splat(<f32>(lr / (1 - Math.pow(beta1, t))));
  const bc2_sqrt = f32x4.splat(<f32>Math.sqrt(1 - Math.pow(beta2, t)));
  const epsv = f32x4.splat(<f32>eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(one_b1, gi));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(one_b2, f32x4.mul(gi, gi)));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), bc2_sqrt), epsv);
    const wi = f32x4.mul(v128.load(w + o), decay);
    v128.store(w + o, f32x4.sub(wi, f32x4.mul(step_size, f32x4.div(mi, denom))));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
  }
  for (; i < n; i++) {
    // The same arithmetic lane by lane, for the tail.
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = load<f32>(m + o) * f32x4.extract_lane(b1, 0) + f32x4.extract_lane(one_b1, 0) * gi;
    const vi = load<f32>(v + o) * f32x4.extract_lane(b2, 0) + f32x4.extract_lane(one_b2, 0) * (gi * gi);
    const denom = Mathf.sqrt(vi) / f32x4.extract_lane(bc2_sqrt, 0) + f32x4.extract_lane(epsv, 0);
    const wi = load<f32>(w + o) * f32x4.extract_lane(decay, 0);
    store<f32>(w + o, wi - f32x4.extract_lane(step_size, 0) * (mi / denom));
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
  }
}
