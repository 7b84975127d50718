/* optviz's engine in the page: the same optimizers, schedules and stopping rules as
   optviz/core (engine.py, optim/transforms.py, optim/aliases.py, optim/modern.py,
   optim/schedules.py), one function per transform, each written in the Python
   code's order of operations so that both compute the same IEEE operations.
   An optimizer comes as data (optviz/core/optim/export.py): the chain of
   transforms its registry entry composes, or the name of a twin below, with
   arguments as expressions over its hyperparameters. Vectors are [x, y]. */
var OPTVIZ_ENGINE = (function () {
  "use strict";

  // ------------------------------------------------------------ expressions
  function ev(e, env) {
    if (e === null || typeof e !== "object") return e;
    switch (e[0]) {
      case "hp": {
        var v = env.hp[e[1]];
        if (v === undefined) { if (e.length > 2) return e[2]; throw new Error("no hyperparameter " + e[1]); }
        return v;
      }
      case "t": return env.t;
      case "num": return Number(e[1]);
      case "+": return ev(e[1], env) + ev(e[2], env);
      case "-": return ev(e[1], env) - ev(e[2], env);
      case "*": return ev(e[1], env) * ev(e[2], env);
      case "/": return ev(e[1], env) / ev(e[2], env);
      case "**": return Math.pow(ev(e[1], env), ev(e[2], env));
      case "neg": return -ev(e[1], env);
      case "sqrt": return Math.sqrt(ev(e[1], env));
      case "lambda": {
        var body = e[1], hp = env.hp;
        return function (t) { return ev(body, { hp: hp, t: t }); };
      }
    }
    throw new Error("unknown expression " + JSON.stringify(e));
  }
  function evalArgs(args, hp) {
    var out = {};
    for (var k in args) {
      var a = args[k];
      out[k] = (a && typeof a === "object" && !Array.isArray(a)) ? a : ev(a, { hp: hp, t: 0 });
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers
  function isZero(v) { return v === 0; }
  // base.lerp: torch's lerp, start + w*(end - start) for |w| < 0.5, else end - (end - start)*(1 - w)
  function lerp(s, e, w) {
    return Math.abs(w) < 0.5 ? s + w * (e - s) : e - (e - s) * (1 - w);
  }
  function lerp2(s, e, w) { return [lerp(s[0], e[0], w), lerp(s[1], e[1], w)]; }
  function sign(v) { return v > 0 ? 1 : v < 0 ? -1 : v; }  // NumPy's sign (NaN stays NaN)
  function clip(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }
  function zeros() { return [0, 0]; }

  // ------------------------------------------------------------- transforms
  // T.name = { init(params, a) -> state, update(u, state, params, oracle, a) -> u' }
  var T = {};
  T.scale_by_step_size = {
    init: function () { return { count: 0 }; },
    update: function (u, s, p, o, a) {
      s.count += 1;
      var al = a.alpha(s.count);
      return [u[0] * -al, u[1] * -al];
    }
  };
  T.scale_by_learning_rate = {
    init: function () { return {}; },
    update: function (u, s, p, o, a) { var lr = a.lr; return [u[0] * -lr, u[1] * -lr]; }
  };
  T.add_decayed_weights = {
    init: function () { return {}; },
    update: function (u, s, p, o, a) {
      var wd = a.weight_decay;
      if (isZero(wd)) return u;
      return [u[0] + wd * p[0], u[1] + wd * p[1]];
    }
  };
  T.add_decoupled_weight_decay = {
    init: function () { return {}; },
    update: function (u, s, p, o, a) {
      var r = a.rate;
      if (isZero(r)) return u;
      return [u[0] - r * p[0], u[1] - r * p[1]];
    }
  };
  T.scale_by_sign = {
    init: function () { return {}; },
    update: function (u) { return [sign(u[0]), sign(u[1])]; }
  };
  T.trace = {
    init: function () { return { buf: zeros(), count: 0 }; },
    update: function (u, s, p, o, a) {
      var mu = a.momentum, damp = a.dampening, buf, d;
      if (s.count === 0) buf = [u[0], u[1]];
      else buf = [s.buf[0] * mu + u[0] * (1 - damp), s.buf[1] * mu + u[1] * (1 - damp)];
      d = a.nesterov ? [u[0] + mu * buf[0], u[1] + mu * buf[1]] : buf;
      if (isZero(mu)) d = u;
      s.buf = buf; s.count += 1;
      return d;
    }
  };
  T.scale_by_adagrad = {
    init: function (p, a) { var v = 0 + a.initial_accumulator_value; return { sum: [v, v] }; },
    update: function (u, s, p, o, a) {
      var out = [0, 0], sum = [0, 0];
      for (var i = 0; i < 2; i++) {
        var denom;
        if (a.eps_inside) { sum[i] = s.sum[i] + u[i] * u[i]; denom = Math.sqrt(sum[i] + a.eps); }
        else { sum[i] = s.sum[i] + u[i] * u[i]; denom = Math.sqrt(sum[i]) + a.eps; }
        out[i] = u[i] / denom;
      }
      s.sum = sum;
      return out;
    }
  };
  T.scale_by_rms = {
    init: function () { return { sq: zeros(), ga: zeros() }; },
    update: function (u, s, p, o, a) {
      var rho = a.rho, eps = a.eps, out = [0, 0], sq = [0, 0], ga = [s.ga[0], s.ga[1]];
      for (var i = 0; i < 2; i++) {
        var denom;
        if (a.eps_inside) {
          sq[i] = rho * s.sq[i] + (1 - rho) * (u[i] * u[i]);
          denom = Math.sqrt(sq[i] + eps);
        } else {
          sq[i] = s.sq[i] * rho + (1 - rho) * u[i] * u[i];
          if (a.centered) {
            ga[i] = lerp(ga[i], u[i], 1 - rho);
            denom = Math.sqrt(sq[i] - ga[i] * ga[i]) + eps;
          } else denom = Math.sqrt(sq[i]) + eps;
        }
        out[i] = u[i] / denom;
      }
      s.sq = sq; s.ga = ga;
      return out;
    }
  };
  T.scale_by_adadelta = {
    init: function (p, a) { var d = 0 + a.delta_init; return { sq: zeros(), acc: [d, d] }; },
    update: function (u, s, p, o, a) {
      var rho = a.rho, eps = a.eps, sq = [0, 0], acc = [0, 0], out = [0, 0];
      for (var i = 0; i < 2; i++) {
        sq[i] = s.sq[i] * rho + (1 - rho) * u[i] * u[i];
        var delta = a.lasagne ? u[i] * Math.sqrt(s.acc[i] + eps) / Math.sqrt(sq[i] + eps)
                              : Math.sqrt(s.acc[i] + eps) / Math.sqrt(sq[i] + eps) * u[i];
        acc[i] = s.acc[i] * rho + (1 - rho) * delta * delta;
        out[i] = delta;
      }
      s.sq = sq; s.acc = acc;
      return out;
    }
  };
  function adamInit() { return { m: zeros(), v: zeros(), vmax: zeros(), count: 0, mu_product: 1.0 }; }
  T.scale_by_adam = {
    init: adamInit,
    update: function (u, s, p, o, a) {
      var b1 = a.beta1, b2 = a.beta2, eps = a.eps, count = s.count + 1;
      var m = [0, 0], v = [0, 0], out = [0, 0], vmax = [s.vmax[0], s.vmax[1]];
      for (var i = 0; i < 2; i++) {
        if (a.lasagne) {
          m[i] = b1 * s.m[i] + (1 - b1) * u[i];
          v[i] = b2 * s.v[i] + (1 - b2) * (u[i] * u[i]);
          out[i] = m[i] / (Math.sqrt(v[i]) + eps);
        } else {
          m[i] = lerp(s.m[i], u[i], 1 - b1);
          v[i] = s.v[i] * b2 + (1 - b2) * u[i] * u[i];
          if (a.amsgrad) vmax[i] = Math.max(s.vmax[i], v[i]);
          var denom = Math.sqrt(a.amsgrad ? vmax[i] : v[i]) / Math.sqrt(1 - Math.pow(b2, count)) + eps;
          out[i] = m[i] / denom;
        }
      }
      s.m = m; s.v = v; s.vmax = vmax; s.count = count;
      return out;
    }
  };
  T.scale_by_adamax = {
    init: adamInit,
    update: function (uin, s, p, o, a) {
      var b1 = a.beta1, b2 = a.beta2, eps = a.eps, m = [0, 0], uu = [0, 0], out = [0, 0];
      for (var i = 0; i < 2; i++) {
        var denom;
        if (a.lasagne) {
          m[i] = b1 * s.m[i] + (1 - b1) * uin[i];
          uu[i] = Math.max(b2 * s.v[i], Math.abs(uin[i]));
          denom = uu[i] + eps;
        } else {
          m[i] = lerp(s.m[i], uin[i], 1 - b1);
          uu[i] = Math.max(s.v[i] * b2, Math.abs(uin[i]) + eps);
          denom = uu[i];
        }
        out[i] = m[i] / denom;
      }
      s.m = m; s.v = uu; s.count += 1;
      return out;
    }
  };
  T.scale_by_nadam = {
    init: adamInit,
    update: function (u, s, p, o, a) {
      var b1 = a.beta1, b2 = a.beta2, eps = a.eps, psi = a.momentum_decay, count = s.count + 1;
      var bc2 = 1 - Math.pow(b2, count);
      var mu = b1 * (1.0 - 0.5 * Math.pow(0.96, count * psi));
      var muNext = b1 * (1.0 - 0.5 * Math.pow(0.96, (count + 1) * psi));
      var muProduct = s.mu_product * mu, m = [0, 0], v = [0, 0], out = [0, 0];
      for (var i = 0; i < 2; i++) {
        m[i] = lerp(s.m[i], u[i], 1 - b1);
        v[i] = s.v[i] * b2 + (1 - b2) * u[i] * u[i];
        var denom = Math.sqrt(v[i] / bc2) + eps;
        out[i] = ((1.0 - mu) / (1.0 - muProduct)) * (u[i] / denom) +
                 (muNext / (1.0 - muProduct * muNext)) * (m[i] / denom);
      }
      s.m = m; s.v = v; s.count = count; s.mu_product = muProduct;
      return out;
    }
  };
  T.scale_by_radam = {
    init: adamInit,
    update: function (u, s, p, o, a) {
      var b1 = a.beta1, b2 = a.beta2, eps = a.eps, count = s.count + 1;
      var bc1 = 1 - Math.pow(b1, count), bc2 = 1 - Math.pow(b2, count);
      var rhoInf = 2 / (1 - b2) - 1;
      var rhoT = rhoInf - 2 * count * Math.pow(b2, count) / bc2;
      var rect = Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      var m = [0, 0], v = [0, 0], out = [0, 0];
      for (var i = 0; i < 2; i++) {
        m[i] = lerp(s.m[i], u[i], 1 - b1);
        v[i] = s.v[i] * b2 + (1 - b2) * u[i] * u[i];
        var corrected = m[i] / bc1;
        var adaptive = Math.sqrt(bc2) / (Math.sqrt(v[i]) + eps);
        out[i] = rhoT > 5.0 ? corrected * adaptive * rect : corrected;
      }
      s.m = m; s.v = v; s.count = count;
      return out;
    }
  };
  T.scale_by_newton = {
    init: function () { return { fallbacks: 0 }; },
    update: function (g, s, p, o, a) {
      var h = o.hess(p), lam = a.damping;
      var A = h[0] + lam, B = h[1], D = h[2] + lam;
      var det = A * D - B * B, pd = A > 0 && det > 0;
      var usable = a.fallback ? pd : det !== 0;
      if (!pd) s.fallbacks += 1;
      if (!usable) return g;
      return [(D * g[0] - B * g[1]) / det, (A * g[1] - B * g[0]) / det];
    }
  };

  // ------------------------------------------------------------------ twins
  // Optimizers that do not split into transforms (export.TWINS): TW.name(a, hp) -> {init, update}
  var TW = {};
  TW.nag = function () {
    return {
      init: function () { return { v: zeros() }; },
      update: function (g, s, p, o, a) {
        var mu = a.momentum, lr = a.lr, ah = [mu * s.v[0], mu * s.v[1]], look;
        function at(f) { return o.grad([p[0] - f(ah[0]), p[1] - f(ah[1])]); }
        if (a.lookahead === "single") {
          look = at(function (v) { return v; });
        } else if (a.lookahead === "mean3") {
          var g1 = at(function (v) { return v / 3; }), g2 = at(function (v) { return 2 * v / 3; }),
              g3 = at(function (v) { return v; });
          look = [(g1[0] + g2[0] + g3[0]) / 3, (g1[1] + g2[1] + g3[1]) / 3];
        } else if (a.lookahead === "weighted7") {
          var w1 = at(function (v) { return v / 2; }), w2 = at(function (v) { return 3 * v / 4; }),
              w3 = at(function (v) { return v; });
          look = [(w1[0] + 2 * w2[0] + 4 * w3[0]) / 7, (w1[1] + 2 * w2[1] + 4 * w3[1]) / 7];
        } else throw new Error("unknown lookahead " + a.lookahead);
        var v = [ah[0] + lr * look[0], ah[1] + lr * look[1]];
        s.v = v;
        return [-v[0], -v[1]];
      }
    };
  };
  TW.adabound = function () {
    return {
      init: function () { return { m: zeros(), v: zeros(), vmax: zeros(), count: 0 }; },
      update: function (g, s, p, o, a) {
        var wd = a.weight_decay;
        if (!isZero(wd)) g = [g[0] + wd * p[0], g[1] + wd * p[1]];
        var b1 = a.beta1, b2 = a.beta2, count = s.count + 1;
        var fin = a.base_lr === null ? a.final_lr : a.final_lr * a.lr / a.base_lr;
        var stepSize = a.lr * Math.sqrt(1 - Math.pow(b2, count)) / (1 - Math.pow(b1, count));
        var lower = fin * (1 - 1 / (a.gamma * count + 1)), upper = fin * (1 + 1 / (a.gamma * count));
        var m = [0, 0], v = [0, 0], vmax = [s.vmax[0], s.vmax[1]], out = [0, 0];
        for (var i = 0; i < 2; i++) {
          m[i] = s.m[i] * b1 + (1 - b1) * g[i];
          v[i] = s.v[i] * b2 + (1 - b2) * g[i] * g[i];
          if (a.amsbound) vmax[i] = Math.max(s.vmax[i], v[i]);
          var denom = Math.sqrt(a.amsbound ? vmax[i] : v[i]) + a.eps;
          out[i] = -(clip(stepSize / denom, lower, upper) * m[i]);
        }
        s.m = m; s.v = v; s.vmax = vmax; s.count = count;
        return out;
      }
    };
  };
  TW.lion = function () {
    return {
      init: function () { return { m: zeros() }; },
      update: function (g, s, p, o, a) {
        var lr = a.lr, b1 = a.beta1, b2 = a.beta2, wd = a.weight_decay, out = [0, 0], m = [0, 0];
        for (var i = 0; i < 2; i++) {
          var u = sign(s.m[i] * b1 + g[i] * (1 - b1));
          out[i] = wd !== 0 ? p[i] * (1 - lr * wd) - lr * u - p[i] : -lr * u;
          m[i] = s.m[i] * b2 + g[i] * (1 - b2);
        }
        s.m = m;
        return out;
      }
    };
  };
  function signDescent() {
    return {
      init: function () { return { m: zeros() }; },
      update: function (g, s, p, o, a) {
        var lr = a.lr, mu = a.momentum === undefined ? 0.0 : a.momentum, wd = a.weight_decay;
        var buf = mu > 0 ? lerp2(s.m, g, 1 - mu) : g, out = [0, 0];
        for (var i = 0; i < 2; i++) {
          out[i] = wd !== 0 ? p[i] * (1 - wd * lr) - lr * sign(buf[i]) - p[i] : -lr * sign(buf[i]);
        }
        if (mu > 0) s.m = buf;
        return out;
      }
    };
  }
  TW.signsgd = signDescent;
  TW.signum = signDescent;
  TW.adan = function () {
    return {
      init: function () { return { m: zeros(), n: zeros(), v: zeros(), prev: zeros(), count: 0 }; },
      update: function (g, s, p, o, a) {
        var lr = a.lr, b1 = a.beta1, b2 = a.beta2, b3 = a.beta3, count = s.count + 1;
        var m = [0, 0], n = [0, 0], v = [0, 0], out = [0, 0];
        var c1 = (-lr / (1 - Math.pow(b1, count))), c2 = (-lr * b2 / (1 - Math.pow(b2, count)));
        var bc3 = Math.sqrt(1 - Math.pow(b3, count));
        for (var i = 0; i < 2; i++) {
          var diff = s.count ? g[i] - s.prev[i] : 0;
          m[i] = lerp(s.m[i], g[i], 1 - b1);
          n[i] = lerp(s.n[i], diff, 1 - b2);
          var u = diff * b2 + g[i];
          v[i] = s.v[i] * b3 + (1 - b3) * u * u;
          var denom = Math.sqrt(v[i]) / bc3 + a.eps;
          var nw = p[i] + (c1 * m[i]) / denom + (c2 * n[i]) / denom;
          if (a.weight_decay !== 0) nw = nw / (1 + lr * a.weight_decay);
          out[i] = nw - p[i];
        }
        s.m = m; s.n = n; s.v = v; s.prev = [g[0], g[1]]; s.count = count;
        return out;
      }
    };
  };
  TW.adopt = function () {
    return {
      init: function () { return { m: zeros(), v: zeros(), count: 0 }; },
      update: function (g, s, p, o, a) {
        var count = s.count + 1, wd = a.weight_decay;
        if (wd !== 0) g = [g[0] + p[0] * wd, g[1] + p[1] * wd];
        s.count = count;
        if (count === 1) { s.v = [s.v[0] + g[0] * g[0], s.v[1] + g[1] * g[1]]; return [0, 0]; }
        var c = Math.pow(count, 0.25), m = [0, 0], v = [0, 0];
        for (var i = 0; i < 2; i++) {
          var normed = clip(g[i] / Math.max(Math.sqrt(s.v[i]), a.eps), -c, c);
          m[i] = lerp(s.m[i], normed, 1 - a.beta1);
          v[i] = s.v[i] * a.beta2 + (1 - a.beta2) * g[i] * g[i];
        }
        s.m = m; s.v = v;
        return [-a.lr * m[0], -a.lr * m[1]];
      }
    };
  };
  var PERTURB_EPS = 1e-12;  // modern.PERTURB_EPS
  TW.sam = function (a, hp) {
    var base = fromExport(hp.base);
    return {
      init: function (p) { return { base: base.init(p) }; },
      update: function (g, s, p, o, a) {
        var w = a.adaptive ? [g[0] * Math.abs(p[0]), g[1] * Math.abs(p[1])] : g;
        var norm = Math.sqrt(w[0] * w[0] + w[1] * w[1]) + PERTURB_EPS, scale = a.rho / norm;
        var e = a.adaptive ? [p[0] * p[0] * g[0] * scale, p[1] * p[1] * g[1] * scale]
                           : [1.0 * g[0] * scale, 1.0 * g[1] * scale];
        var perturbed = [p[0] + e[0], p[1] + e[1]];
        return base.update(o.grad(perturbed), s.base, p, o);
      }
    };
  };
  TW.lookahead = function (a, hp) {
    var base = fromExport(hp.base);
    return {
      init: function (p) { return { base: base.init(p), slow: [p[0], p[1]], count: 0 }; },
      update: function (g, s, p, o, a) {
        var step = base.update(g, s.base, p, o);
        s.count += 1;
        if (s.count % a.k !== 0) return step;
        var fast = [p[0] + step[0], p[1] + step[1]];
        var nw = lerp2(fast, s.slow, 1 - a.alpha);
        s.slow = nw;
        return [nw[0] - p[0], nw[1] - p[1]];
      }
    };
  };
  TW.prodigy = function () {
    return {
      init: function (p, a) {
        return { m: zeros(), v: zeros(), s: zeros(), p0: [p[0], p[1]], d: a.d0, dMax: a.d0,
                 dNum: 0, k: 0 };
      },
      update: function (g, st, p, o, a) {
        var b1 = a.beta1, b2 = a.beta2, b3 = a.beta3 === null ? Math.sqrt(b2) : a.beta3;
        var growth = a.growth_rate === null ? Infinity : a.growth_rate;
        var d = st.d, k = st.k, wd = a.weight_decay;
        var bias = a.use_bias_correction ?
          Math.sqrt(1 - Math.pow(b2, k + 1)) / (1 - Math.pow(b1, k + 1)) : 1.0;
        var dlr = d * a.lr * bias;
        if (wd !== 0 && !a.decouple) g = [g[0] + p[0] * wd, g[1] + p[1] * wd];
        var dNum = st.dNum * b3;
        var delta = (d / a.d0) * dlr * (g[0] * (st.p0[0] - p[0]) + g[1] * (st.p0[1] - p[1]));
        var m = [0, 0], v = [0, 0], s = [0, 0], i;
        for (i = 0; i < 2; i++) {
          m[i] = st.m[i] * b1 + g[i] * (d * (1 - b1));
          v[i] = st.v[i] * b2 + (d * d * (1 - b2)) * g[i] * g[i];
          s[i] = st.s[i] * b3 + g[i] * ((d / a.d0) * (a.safeguard_warmup ? d : dlr));
        }
        var dDenom = Math.abs(s[0]) + Math.abs(s[1]), moved = dDenom !== 0;
        var numerator = dNum + delta;
        var dHat = a.d_coef * numerator / dDenom;
        var newD = d === a.d0 ? Math.max(d, dHat) : d;
        var dMax = Math.max(st.dMax, dHat);
        newD = Math.min(dMax, newD * growth);
        if (!moved) { newD = d; dMax = st.dMax; numerator = st.dNum; }
        var nw = [p[0], p[1]], out = [0, 0];
        for (i = 0; i < 2; i++) {
          var denom = Math.sqrt(v[i]) + newD * a.eps;
          if (wd !== 0 && a.decouple) nw[i] = nw[i] + nw[i] * (-wd * dlr);
          nw[i] = b1 > 0 ? nw[i] + ((-dlr) * m[i]) / denom : nw[i] + ((-dlr * newD) * g[i]) / denom;
          out[i] = moved ? nw[i] - p[i] : 0.0;
        }
        st.m = m; st.v = v; st.s = s; st.d = newD; st.dMax = dMax; st.dNum = numerator;
        st.k = k + (moved ? 1 : 0);
        return out;
      }
    };
  };
  function scheduleFree(adam) {
    return function () {
      return {
        init: function (p) { return { y: [p[0], p[1]], z: [p[0], p[1]], v: zeros(), lrMax: -1.0, wsum: 0.0, count: 0 }; },
        update: function (g0, s, p, o, a) {
          var k = s.count, beta = adam ? a.beta1 : a.momentum, y = s.y, z = s.z;
          var g = o.grad(y);
          var sched = k < a.warmup_steps ? (k + 1) / Math.max(a.warmup_steps, 1) : 1.0;
          var clr = a.lr * sched;
          var lrMax = Math.max(clr, s.lrMax);
          var weight = Math.pow(k + 1, a.r) * Math.pow(lrMax, a.weight_lr_power);
          var wsum = s.wsum + weight;
          var ckp1 = wsum !== 0 ? weight / wsum : 0.0;
          var v = s.v, i;
          if (adam) {
            v = [0, 0];
            var bc = 1 - Math.pow(a.beta2, k + 1);
            for (i = 0; i < 2; i++) {
              v[i] = s.v[i] * a.beta2 + (1 - a.beta2) * g[i] * g[i];
              g[i] = g[i] / (Math.sqrt(v[i] / bc) + a.eps);
            }
          }
          if (a.weight_decay !== 0) g = [g[0] + y[0] * a.weight_decay, g[1] + y[1] * a.weight_decay];
          var ny = lerp2(y, z, ckp1), nz = [0, 0], x = [0, 0], c = clr * (beta * (1 - ckp1) - 1);
          for (i = 0; i < 2; i++) {
            ny[i] = ny[i] + g[i] * c;
            nz[i] = z[i] - g[i] * clr;
          }
          x = lerp2(ny, nz, 1 - 1 / beta);
          s.y = ny; s.z = nz; s.v = v; s.lrMax = lrMax; s.wsum = wsum; s.count = k + 1;
          return [x[0] - p[0], x[1] - p[1]];
        }
      };
    };
  }
  TW.sgd_schedulefree = scheduleFree(false);
  TW.adamw_schedulefree = scheduleFree(true);
  TW.sophia = function () {
    return {
      init: function () { return { m: zeros(), h: zeros(), count: 0 }; },
      update: function (g, s, p, o, a) {
        var count = s.count + 1, b1 = a.beta1, m = [0, 0], h = [s.h[0], s.h[1]], out = [0, 0], i;
        for (i = 0; i < 2; i++) m[i] = b1 * s.m[i] + (1 - b1) * g[i];
        if (count % a.k === 1 % a.k) {
          var H = o.hess(p), diag = [H[0], H[2]];
          for (i = 0; i < 2; i++) h[i] = a.beta2 * h[i] + (1 - a.beta2) * diag[i];
        }
        for (i = 0; i < 2; i++) {
          var nw = p[i] - a.lr * a.weight_decay * p[i];
          nw = nw - a.lr * clip(m[i] / Math.max(a.gamma * h[i], a.eps), -1.0, 1.0);
          out[i] = nw - p[i];
        }
        s.m = m; s.h = h; s.count = count;
        return out;
      }
    };
  };

  // -------------------------------------------------------------- schedules
  // torch.optim.lr_scheduler as schedules.py steps it (its recursive forms).
  function pymod(a, m) { return ((a % m) + m) % m; }
  function bisectRight(xs, v) { var i = 0; while (i < xs.length && xs[i] <= v) i++; return i; }
  function Scheduler(group, kind, kw) {
    var self = { group: group, kind: kind, kw: kw };
    return self;
  }
  var LR = {
    step: {
      closed: true,
      get: function (s) { var g = s.group, le = s.last_epoch;
        if (le === 0 || le % s.kw.step_size !== 0) return g.lr; return g.lr * s.kw.gamma; },
      closedForm: function (s) { return s.base * Math.pow(s.kw.gamma, Math.floor(s.last_epoch / s.kw.step_size)); }
    },
    multistep: {
      closed: true,
      get: function (s) {
        var c = 0, ms = s.kw.milestones;
        for (var i = 0; i < ms.length; i++) if (ms[i] === s.last_epoch) c++;
        if (!c) return s.group.lr;
        return s.group.lr * Math.pow(s.kw.gamma, c);
      },
      closedForm: function (s) {
        var sorted = s.kw.milestones.slice().sort(function (a, b) { return a - b; });
        return s.base * Math.pow(s.kw.gamma, bisectRight(sorted, s.last_epoch));
      }
    },
    exponential: {
      closed: true,
      get: function (s) { return s.is_initial ? s.group.lr : s.group.lr * s.kw.gamma; },
      closedForm: function (s) { return s.base * Math.pow(s.kw.gamma, s.last_epoch); }
    },
    cosine: {
      closed: true,
      get: function (s) {
        var lr = s.group.lr, le = s.last_epoch, Tm = s.kw.T_max, eta = s.kw.eta_min;
        if (s.is_initial) return lr;
        if (s.step_count === 1 && le > 0)
          return eta + (s.base - eta) * (1 + Math.cos(le * Math.PI / Tm)) / 2;
        if (pymod(le - 1 - Tm, 2 * Tm) === 0)
          return lr + (s.base - eta) * (1 - Math.cos(Math.PI / Tm)) / 2;
        return (1 + Math.cos(Math.PI * le / Tm)) / (1 + Math.cos(Math.PI * (le - 1) / Tm)) * (lr - eta) + eta;
      },
      closedForm: function (s) {
        return s.kw.eta_min + (s.base - s.kw.eta_min) * (1 + Math.cos(Math.PI * s.last_epoch / s.kw.T_max)) / 2;
      }
    },
    linear: {
      closed: true,
      get: function (s) {
        var lr = s.group.lr, le = s.last_epoch, sf = s.kw.start_factor, e = s.kw.end_factor,
            n = s.kw.total_iters;
        if (le === 0) return lr * sf;
        if (s.is_initial || le > n) return lr;
        return lr * (1.0 + (e - sf) / (n * sf + (le - 1) * (e - sf)));
      },
      closedForm: function (s) {
        var sf = s.kw.start_factor, e = s.kw.end_factor, n = s.kw.total_iters;
        return s.base * (sf + (e - sf) * Math.min(n, s.last_epoch) / n);
      }
    },
    cosine_restarts: {
      closed: false,
      get: function (s) {
        return s.kw.eta_min + (s.base - s.kw.eta_min) * (1 + Math.cos(Math.PI * s.T_cur / s.T_i)) / 2;
      },
      step: function (s) {
        var epoch;
        if (s.last_epoch < 0) { s.T_i = s.kw.T_0; s.T_cur = 0; epoch = 0; }
        else {
          epoch = s.last_epoch + 1;
          s.T_cur = s.T_cur + 1;
          if (s.T_cur >= s.T_i) { s.T_cur = s.T_cur % s.T_i; s.T_i = s.T_i * s.kw.T_mult; }
        }
        s.last_epoch = epoch;
        s.group.lr = LR.cosine_restarts.get(s);
      }
    },
    onecycle: {
      closed: false,
      get: function (s) {
        var g = s.group, stepNum = s.last_epoch, start = 0.0, ph = s.phases;
        for (var i = 0; i < ph.length; i++) {
          var endStep = ph[i][0];
          if (stepNum <= endStep || i === ph.length - 1) {
            var pct = (stepNum - start) / (endStep - start);
            var lr = anneal(s, g[ph[i][1]], g[ph[i][2]], pct);
            if (s.kw.cycle_momentum) g.momentum = anneal(s, g[ph[i][3]], g[ph[i][4]], pct);
            return lr;
          }
          start = endStep;
        }
      },
      step: function (s) {
        if (s.last_epoch + 1 >= s.kw.total_steps) return;  // the cycle's last values
        baseStep(s);
      }
    }
  };
  function anneal(s, start, end, pct) {
    if (s.kw.anneal_strategy === "cos") return end + (start - end) / 2.0 * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }
  function baseStep(s) { s.step_count += 1; updateLr(s, null); }
  function updateLr(s, epoch) {
    var value, k = LR[s.kind];
    if (epoch === null) { s.last_epoch += 1; value = k.get(s); }
    else { s.last_epoch = epoch; value = k.closed ? k.closedForm(s) : k.get(s); }
    s.group.lr = value;
  }
  function schedStep(s) { if (s.kind === "sequential") seqStep(s); else if (LR[s.kind].step) LR[s.kind].step(s); else baseStep(s); }
  function initialStep(s) { s.step_count = 0; s.is_initial = true; schedStep(s); s.is_initial = false; }
  function makeSched(spec, group) {
    if (spec.type === "sequential") {
      var seq = { kind: "sequential", group: group, milestones: spec.milestones.slice(), last_epoch: 0 };
      seq.scheds = spec.schedules.map(function (c) { return makeSched(c, group); });
      group.lr = group.initial_lr;
      seq.scheds.forEach(function (c) { c.last_epoch -= 1; });
      initialStep(seq.scheds[bisectRight(seq.milestones, 0)]);
      return seq;
    }
    var kw = spec, s = { kind: spec.type, group: group, kw: kw };
    if (spec.type === "cosine_restarts") { s.T_i = kw.T_0; s.T_cur = -1; }
    if (spec.type === "onecycle") {
      var p = kw.pct_start, n = kw.total_steps;
      s.phases = kw.three_phase ?
        [[p * n - 1, "initial_lr", "max_lr", "max_m", "base_m"],
         [2 * p * n - 2, "max_lr", "initial_lr", "base_m", "max_m"],
         [n - 1, "initial_lr", "min_lr", "max_m", "max_m"]] :
        [[p * n - 1, "initial_lr", "max_lr", "max_m", "base_m"],
         [n - 1, "max_lr", "min_lr", "base_m", "max_m"]];
      group.initial_lr = kw.max_lr / kw.div_factor;
      group.max_lr = kw.max_lr;
      group.min_lr = group.initial_lr / kw.final_div_factor;
      if (kw.cycle_momentum) { group.momentum = kw.max_momentum; group.max_m = kw.max_momentum; group.base_m = kw.base_momentum; }
    }
    if (group.initial_lr === undefined) group.initial_lr = group.lr;
    s.base = group.initial_lr;
    s.last_epoch = -1; s.is_initial = false;
    initialStep(s);
    return s;
  }
  function seqStep(s) {
    s.last_epoch += 1;
    var idx = bisectRight(s.milestones, s.last_epoch), c = s.scheds[idx];
    if (idx > 0 && s.milestones[idx - 1] === s.last_epoch) updateLr(c, 0);
    else schedStep(c);
  }
  function cyclesMomentum(spec) {
    return (spec.type === "onecycle" && spec.cycle_momentum) ||
      (spec.schedules || []).some(cyclesMomentum);
  }
  // (lr, momentum or null) for optimizer steps 0, 1, 2, ... (schedules.LrSequence)
  function LrSequence(spec, baseLr, momentum) {
    var group = { lr: baseLr, momentum: momentum }, cycles = cyclesMomentum(spec);
    var sched = makeSched(spec, group), values = [];
    return function (t) {
      while (values.length <= t) {
        if (values.length) schedStep(sched);
        values.push([group.lr, cycles ? group.momentum : null]);
      }
      return values[t];
    };
  }

  // --------------------------------------------------------------- optimizers
  function fromDesc(desc, hp) {
    if (desc.chain) {
      var parts = desc.chain.map(function (it) {
        var t = T[it.name];
        if (!t) throw new Error("no transform " + it.name);
        return { t: t, args: it.args, a: null };
      });
      var set = function (h) { parts.forEach(function (pt) { pt.a = evalArgs(pt.args, h); }); };
      set(hp);
      return {
        set: set,
        init: function (p) { return parts.map(function (pt) { return pt.t.init(p, pt.a); }); },
        update: function (g, st, p, o) {
          var u = g;
          for (var i = 0; i < parts.length; i++) u = parts[i].t.update(u, st[i], p, o, parts[i].a);
          return u;
        }
      };
    }
    var make = TW[desc.twin];
    if (!make) throw new Error("no twin " + desc.twin);
    var args = desc.args, a = evalArgs(args, hp), tw = make(a, hp);
    return {
      set: function (h) { a = evalArgs(args, h); },
      init: function (p) { return tw.init(p, a); },
      update: function (g, st, p, o) { return tw.update(g, st, p, o, a); }
    };
  }
  // An export (export.export_optimizer): {desc, hp, schedule, momentum_name, base_lr_param}
  function fromExport(x) {
    var opt = fromDesc(x.desc, x.hp);
    if (!x.schedule) return opt;
    var hp = x.hp, mname = x.momentum_name;
    var seq = LrSequence(x.schedule, hp.lr, mname ? hp[mname] : null);
    return {
      init: function (p) { return { inner: opt.init(p), count: 0 }; },
      update: function (g, st, p, o) {
        var lm = seq(st.count), h = Object.assign({}, hp, { lr: lm[0] });
        if (lm[1] !== null && mname) h[mname] = lm[1];
        if (x.base_lr_param) h.base_lr = hp.lr;
        opt.set(h);
        st.count += 1;
        return opt.update(g, st.inner, p, o);
      }
    };
  }

  // ----------------------------------------------------------------- engine
  // One run of engine.simulate: the same stopping rules (a non-finite loss drops
  // that point, a non-finite step is not taken, a finite point outside the bound
  // is kept so the path shows it leaving, if its loss is finite).
  function surfaceOracle(S) {
    var buf = [0, 0, 0], hb = [0, 0, 0];
    return {
      vg: function (p) { return S.vg(p[0], p[1], buf); },
      grad: function (p) { S.vg(p[0], p[1], buf); return [buf[1], buf[2]]; },
      hess: function (p) { S.hess(p[0], p[1], hb); return [hb[0], hb[1], hb[2]]; }
    };
  }
  function simulate(S, bound, x, start, steps) {
    var opt = fromExport(x), o = surfaceOracle(S);
    var cx = (bound[0][0] + bound[1][0]) / 2, cy = (bound[0][1] + bound[1][1]) / 2;
    var hx = (bound[1][0] - bound[0][0]) / 2, hy = (bound[1][1] - bound[0][1]) / 2;
    var xs = new Float64Array(steps + 1), ys = new Float64Array(steps + 1), ls = new Float64Array(steps + 1);
    var p = [start[0], start[1]], st = opt.init(p), last = steps, diverged = false, vg = [0, 0, 0];
    xs[0] = p[0]; ys[0] = p[1];
    for (var t = 0; t < steps; t++) {
      var r = o.vg(p), value = r[0];
      vg[0] = r[0]; vg[1] = r[1]; vg[2] = r[2];
      ls[t] = value;
      var step = opt.update([vg[1], vg[2]], st, p, o);
      var nx = p[0] + step[0], ny = p[1] + step[1];
      var inside = Math.abs(nx - cx) <= hx && Math.abs(ny - cy) <= hy;
      if (!(inside && isFinite(value))) {
        var badLoss = !isFinite(value), nonFinite = !(isFinite(nx) && isFinite(ny));
        if (badLoss) {
          last = Math.max(t - 1, 0);
        } else if (nonFinite) {
          last = t;
        } else {
          var leave = o.vg([nx, ny])[0];
          if (isFinite(leave)) { xs[t + 1] = nx; ys[t + 1] = ny; ls[t + 1] = leave; last = t + 1; }
          else last = t;
        }
        diverged = true;
        break;
      }
      xs[t + 1] = nx; ys[t + 1] = ny;
      p = [nx, ny];
    }
    if (!diverged) ls[steps] = o.vg(p)[0];
    return { x: xs.subarray(0, last + 1), y: ys.subarray(0, last + 1), l: ls.subarray(0, last + 1),
             n: last + 1, diverged: diverged };
  }

  return { simulate: simulate, fromExport: fromExport, LrSequence: LrSequence,
           transforms: T, twins: TW, evaluate: ev };
})();
