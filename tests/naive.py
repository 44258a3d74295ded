"""Slow, obviously correct NumPy twins of tikkun's kernels (STUMPY's tests/naive.py).

Each twin follows MODEL.md's formula directly, one rule at a time over whole arrays, with no
blocks, no fusion and no Numba; the kernels must agree with them.
"""

from __future__ import annotations

import numpy as np

MASK = (1 << 64) - 1


def mix(z: int) -> int:
    """SplitMix64 finaliser on Python ints."""
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def uniform(seed, year, entity, purpose, k=0) -> float:
    h = mix(seed)
    for part in (purpose, year, entity, k):
        h = mix(h ^ part)
    return (h >> 11) / 2.0**53


def uniforms(seed, year, entities, purpose, k=0) -> np.ndarray:
    return np.array([uniform(seed, year, int(e), purpose, k) for e in entities])


def size_totals(st: dict) -> np.ndarray:
    """float64 ``(n,)``: ``sum_j D_j`` over each soul's sparks, added one by one in spark order."""
    starts = st["spark_start"]
    return np.array([sum(float(d) for d in st["size"][a:b]) for a, b in zip(starts[:-1], starts[1:])])


def year(st: dict, *, seed, t, alpha, lam, conductance, kappa0, beta, eps, phi_s, degrees, c_prev,
         practice=1.0, inclusion=True, n_shocks=0, shock_size=0.0, messiah=False, neighbours=None,
         theta_max=0.0, judge_cleansing=0.0):
    """One year of MODEL.md phase 2 on a dict of arrays (modified in place). Returns metrics.

    ``c_prev``: ``C(t-1)``, the mean cleansing at the end of last year (0 before the first
    year); the year's events on souls, applied to ``st`` before, do not change it.
    ``messiah``: complete souls become shepherds this year (the Messiah era, automatic
    shepherds)."""
    n = st["effort"].shape[0]
    counts = np.diff(st["spark_start"])
    owner = np.repeat(np.arange(n), counts)
    souls = np.arange(n)
    # warm network: Friedkin-Johnsen with warmth weights
    e = st["effort"].astype(np.float64)
    if neighbours is not None and neighbours.shape[1] > 0:
        w = st["warmth"].astype(np.float64)
        wn = w[neighbours]
        den = wn.sum(axis=1)
        num = (wn * e[neighbours]).sum(axis=1)
        theta = theta_max * w
        avg = np.divide(num, den, out=np.zeros(n), where=den > 0)
        e = np.where(den > 0, theta * avg + (1 - theta) * st["effort0"], st["effort0"])
        st["effort"][:] = e.astype(np.float32)
        e = st["effort"].astype(np.float64)
    # regain aim
    hold = st["holding"].astype(bool)
    u_regain = uniforms(seed, t, souls, 8, 0)
    hold = hold | (u_regain < st["regain"])
    # shocks: they do not reach a complete soul (r2)
    keep = np.ones(n)
    lost_to_shocks = 0
    if n_shocks > 0:
        q = np.minimum(1.0, shock_size * (1.0 - st["attachment"].astype(np.float64)))
        keep = np.where(st["complete"] == 1, 1.0, (1.0 - q) ** n_shocks)
        u_shock = uniforms(seed, t, souls, 10, 0)
        hold_after = hold & ~(u_shock < 1.0 - keep)
        lost_to_shocks = int((hold & ~hold_after).sum())
        hold = hold_after
    # light
    c_mean = float(c_prev)
    j = kappa0 + (1 - kappa0) * judge_cleansing
    gain = alpha * lam * conductance * j * (1 + beta * c_mean)
    shepherd_light = phi_s if st["shepherds"] > 0 else 0.0
    own = practice * (e * (eps + st["cleansing"].astype(np.float64)))
    ell = gain * st["hbd"].astype(np.float64) * (np.where(hold, own, 0.0) + shepherd_light)
    # screens, in float32 like the state: s <- min(s + u * ell, D), u = iota + (1 - iota) C (r2)
    D = st["size"]
    ell32 = ell.astype(np.float32)
    s_old = st["screen"]
    s_sh = (s_old.astype(np.float64) * keep[owner]).astype(np.float32) if n_shocks > 0 else s_old
    lost = (s_old.astype(np.float64) - s_sh.astype(np.float64)).sum() if n_shocks > 0 else 0.0
    level = np.float32(c_mean if inclusion else 0.0)
    u = st["unity"] + (np.float32(1.0) - st["unity"]) * level
    s_new = np.minimum(s_sh + u * ell32[owner], D)
    assert s_new.dtype == np.float32
    L = np.float32(degrees)
    deg_old = np.floor(L * (s_sh / D))
    deg_new = np.floor(L * (s_new / D))
    greater_spark = (deg_new > deg_old) & (s_new < D)
    st["screen"][:] = s_new
    complete = np.array([np.all(s_new[a:b] == D[a:b]) for a, b in zip(st["spark_start"][:-1], st["spark_start"][1:])])
    sums = np.array([s_new[a:b].astype(np.float64).sum() for a, b in zip(st["spark_start"][:-1], st["spark_start"][1:])])
    c = np.where(complete, 1.0, np.minimum(1.0, sums / size_totals(st)))
    greater = np.array([greater_spark[a:b].any() for a, b in zip(st["spark_start"][:-1], st["spark_start"][1:])])
    # greater desire: keep aim with steadiness
    u_keep = uniforms(seed, t, souls, 8, 1)
    lose = greater & hold & (u_keep < 1.0 - st["steadiness"])
    hold_after = hold & ~lose
    lost_aim = lost_to_shocks + int(lose.sum())  # every loss, to shocks and to a greater desire
    st["holding"][:] = hold_after
    st["cleansing"][:] = c.astype(np.float32)
    st["completed_year"][:] = np.where(complete & (st["completed_year"] < 0), t, st["completed_year"])
    st["complete"][:] = complete
    if messiah:
        st["shepherd"][complete] = 1
    G = float((s_new / D).min())
    C = float(st["cleansing"].astype(np.float64).mean())
    st["cleansing_mean"], st["weakest_link"], st["shepherds"] = C, G, int((st["shepherd"] > 0).sum())
    cl = st["cleansing"].astype(np.float64)
    return {
        "cleansing_mean": C, "weakest_link": G, "complete": int(complete.sum()),
        "holding_aim": int(hold_after.sum()), "greater_desire": int(greater.sum()), "lost_aim": lost_aim,
        "effort_mean": float(e.mean()), "shepherds": int((st["shepherd"] > 0).sum()),
        "stage_spark": int(((degrees * cl < 1) & ~complete).sum()),
        "stage_particular": int(((degrees * cl >= 1) & ~complete).sum()),
        "stage_common": int(complete.sum()),
        "journey_moses": int(((cl < 1 / 3) & ~complete).sum()),
        "journey_joshua": int(((cl >= 1 / 3) & (cl < 2 / 3) & ~complete).sum()),
        "journey_solomon": int(((cl >= 2 / 3) & ~complete).sum()),
        "journey_david": int(complete.sum()),
        "screen_lost": lost,
        "shocks": n_shocks,
    }


def edge_weights(neighbours, warmth) -> np.ndarray:
    """float64 ``(n, k)``: ``w_i w_m / sum_q w_m`` of each edge ``i <- m`` (0 with no warm neighbour)."""
    w = warmth.astype(np.float64)
    wn = w[neighbours]
    den = wn.sum(axis=1, keepdims=True)
    return np.divide(w[:, None] * wn, den, out=np.zeros_like(wn), where=den > 0)


def shocks(seed, t, rate) -> int:
    """Poisson(rate) shocks in year t from the generator's uniform (scipy's inverse CDF)."""
    from scipy import stats

    if rate <= 0:
        return 0
    return int(stats.poisson.ppf(uniform(seed, t, 0, 9, 0), rate))


def judge_cleansing(rule, cleansing, special, messiah, seed, t) -> float:
    """c_judge of the generation starting at t: the eligible soul chosen by the rule."""
    n = cleansing.shape[0]
    eligible = [i for i in range(n) if messiah or special[i]]
    if not eligible:
        return 0.0
    if rule == "highest":
        best = max(eligible, key=lambda i: (cleansing[i], -i))
    elif rule == "lowest":
        best = min(eligible, key=lambda i: (cleansing[i], i))
    else:
        best = eligible[int(uniform(seed, t, 0, 14, 0) * len(eligible))]
    return float(cleansing[best])


def build_graph(kind, n, k, rewired_share, seed, tries=64):
    """Whom each soul hears, in plain Python: the ring's k nearest souls (+1, -1, +2, -2, ...);
    for a small world each edge, with probability rewired_share (draw q of the soul, year 0,
    purpose 13), goes instead to a soul drawn uniformly (draw k + q tries + attempt), never the
    soul itself nor one already in its row; for a random graph every edge is drawn."""
    share = {"ring": 0.0, "small-world": rewired_share, "random": 1.0}[kind]
    nb = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        row = [(i + (q // 2 + 1)) % n if q % 2 == 0 else (i - (q // 2 + 1)) % n for q in range(k)]
        for q in range(k):
            if share < 1.0 and uniform(seed, 0, i, 13, q) >= share:
                continue
            for attempt in range(tries):
                m = min(n - 1, int(uniform(seed, 0, i, 13, k + q * tries + attempt) * n))
                if m != i and m not in row[:q] + row[q + 1:]:
                    row[q] = m
                    break
        nb[i] = row
    return nb


def rewire(seed, year, p, neighbours, cleansing, tries=64):
    """Toward the good and pure, soul by soul in plain Python. With no cleansing anywhere a
    draw "proportional to cleansing" (MODEL.md) names no soul, and with no edge there is none to
    replace: the graph comes back unchanged."""
    nb = neighbours.copy()
    n, k = nb.shape
    cum = np.cumsum(cleansing.astype(np.float64))
    total = cum[-1]
    if total <= 0.0 or k == 0:
        return nb
    for i in range(n):
        if uniform(seed, year, i, 11, 0) >= p:
            continue
        row = list(nb[i])
        worst = min(range(k), key=lambda q: (cleansing[row[q]], q))
        for attempt in range(tries):
            x = uniform(seed, year, i, 12, attempt) * total
            m = min(n - 1, int(np.searchsorted(cum, x, side="right")))
            if m != i and m not in row:
                nb[i, worst] = m
                break
    return nb


# ------------------------------------------------------------------ the year's globals, from the scenario
def schedule(scenario) -> dict[str, np.ndarray]:
    """float64 ``(years,)`` of every global an event may change, year by year from the scenario:
    the section's value, then each ``set``/``scale`` event whose span holds the year, in the
    order listed (MODEL.md, "Events"). The keys are written out here, not read from tikkun."""
    keys = ("light.alpha", "light.light", "light.practice", "light.conductance", "light.beta", "light.eps",
            "light.phi_s", "light.kappa0", "light.omega", "impurity.rate", "impurity.shock_size",
            "network.theta_max", "network.p_rewire")
    years = scenario.run.years
    out = {}
    for key in keys:
        section, name = key.split(".")
        values = []
        for t in range(years):
            v = float(getattr(getattr(scenario, section), name))
            for ev in scenario.events:
                if ev.kind in ("set", "scale") and ev.key == key:
                    until = years if ev.until is None else ev.until
                    if ev.year <= t < until:
                        v = ev.value if ev.kind == "set" else v * ev.factor
            values.append(v)
        out[key] = np.array(values)
    return out


def worlds_year(u, lam, A=1.0, rho=0.1) -> np.ndarray:
    """One year of the four worlds (MODEL.md, "The four worlds"), Atzilut first, all four from
    last year's unities: ``lam_w = lam * prod of the unities above``,
    ``u_w += rho (min(1, lam_w / A) - u_w)``."""
    new = np.empty(4)
    for w in range(4):
        lam_w = lam
        for above in range(w):
            lam_w *= u[above]
        new[w] = u[w] + rho * (min(1.0, lam_w / A) - u[w])
    return new


# ------------------------------------------------------------------ events on souls
def select_group(group, st, seed, t, index) -> list[int]:
    """The souls a group names (MODEL.md, "Events"), as sorted indices."""
    n = st["effort"].shape[0]
    if group.souls is not None:
        return sorted(set(group.souls))
    if group.first is not None:
        return list(range(group.first, min(n, group.first + group.count)))
    if group.share is not None:
        return [i for i in range(n) if uniform(seed, t, i, 15, index) < group.share]
    field = group.lowest or group.highest
    values = st["effort0" if field == "effort" else field].astype(np.float64)
    sign = 1.0 if group.lowest else -1.0
    ranked = sorted(range(n), key=lambda i: (sign * values[i], i))  # ties: the lower index first
    return sorted(ranked[: group.count])


def soul_events(st, events, seed, t, forever):
    """Apply the year's events on souls to the dict ``st`` in listed order. ``events``: pairs
    ``(index in the scenario's list, event)``. ``forever``: shepherds made now stay shepherds
    (the Messiah era); before it they are shepherds to the end of their generation (flag 2)."""
    for index, ev in events:
        souls = select_group(ev.group, st, seed, t, index)
        if ev.kind == "complete":
            spared_soul = -1
            if ev.spare == "smallest" and souls:  # the group's smallest spark, the first among equals
                sparks = [j for i in souls for j in range(st["spark_start"][i], st["spark_start"][i + 1])]
                spared = min(sparks, key=lambda j: (st["size"][j], j))
                spared_soul = next(i for i in souls if st["spark_start"][i] <= spared < st["spark_start"][i + 1])
            for i in souls:
                a, b = st["spark_start"][i], st["spark_start"][i + 1]
                st["screen"][a:b] = st["size"][a:b]
                if i == spared_soul:
                    st["screen"][spared] = 0.0
                    st["complete"][i] = 0
                    st["completed_year"][i] = -1
                    st["cleansing"][i] = min(1.0, st["screen"][a:b].astype(np.float64).sum()
                                             / sum(float(d) for d in st["size"][a:b]))
                    continue
                st["cleansing"][i] = 1.0
                if not st["complete"][i]:
                    st["completed_year"][i] = t
                st["complete"][i] = 1
                st["holding"][i] = 1
            continue
        for i in souls:
            a, b = st["spark_start"][i], st["spark_start"][i + 1]
            if ev.kind == "shepherds":
                st["screen"][a:b] = st["size"][a:b]
                st["cleansing"][i] = 1.0
                if not st["complete"][i]:
                    st["completed_year"][i] = t
                st["complete"][i] = 1
                st["shepherd"][i] = 1 if (forever or st["shepherd"][i] == 1) else 2
                st["holding"][i] = 1
            elif ev.kind == "reset":
                st["screen"][a:b] = 0.0
                st["cleansing"][i] = 0.0
                st["complete"][i] = 0
                st["completed_year"][i] = -1
                st["shepherd"][i] = 0
                st["holding"][i] = 1
                st["effort"][i] = st["effort0"][i]
                if ev.hbd is not None:
                    st["hbd"][i] = ev.hbd
            else:
                for name in ("regain", "steadiness", "warmth", "attachment", "hbd"):
                    if getattr(ev, name) is not None:
                        st[name][i] = getattr(ev, name)
                if ev.effort is not None:
                    st["effort0"][i] = ev.effort
                    st["effort"][i] = ev.effort
