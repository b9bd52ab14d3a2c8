"""The sign-in throttle's rule on plain data (the stores are tested through the API in
test_auth_hardening.py)."""

from __future__ import annotations

from reos.accounts.throttle import ThrottlePolicy, ThrottleState, Verdict

POLICY = ThrottlePolicy(max_failures=3, window_s=100, lockout_s=10, lockout_max_s=35)


def _fail(s: ThrottleState, now: float) -> Verdict:
    admitted = POLICY.admit(s, now)
    assert admitted.retry_after_s is None
    return POLICY.failed(admitted.state, now)


def test_lockouts_double_up_to_the_cap_and_expire() -> None:
    s, now, lengths = ThrottleState(), 0.0, []
    for _ in range(4):
        for _ in range(3):
            v = _fail(s, now)
            s = v.state
        assert v.locked_now_s is not None
        lengths.append(v.locked_now_s)
        assert POLICY.admit(s, now + v.locked_now_s - 0.5).retry_after_s == 1
        now += v.locked_now_s  # the lockout is over exactly then
    assert lengths == [10, 20, 35, 35]


def test_refused_attempts_do_not_extend_a_lockout() -> None:
    s = ThrottleState()
    for _ in range(3):
        s = _fail(s, 0.0).state
    for t in range(1, 10):
        v = POLICY.admit(s, float(t))
        assert v.retry_after_s == 10 - t and v.state == s
    assert POLICY.admit(s, 10.0).retry_after_s is None


def test_parallel_guesses_past_the_limit_are_refused_before_any_check() -> None:
    s = ThrottleState()
    for _ in range(3):  # three requests admitted at once, none has failed yet
        v = POLICY.admit(s, 0.0)
        assert v.retry_after_s is None
        s = v.state
    fourth = POLICY.admit(s, 0.0)
    assert fourth.retry_after_s == 10 and fourth.locked_now_s == 10


def test_failures_outside_the_window_and_a_quiet_spell_are_forgotten() -> None:
    s = _fail(_fail(ThrottleState(), 0.0).state, 1.0).state
    s = _fail(s, 102.0).state  # the first window ended: this is failure 1 of a new window
    assert s.failures == 1 and s.locked_until is None
    for _ in range(3):
        s = _fail(s, 300.0).state
    assert s.lockouts == 1
    # after window + longest lockout without failures, the next lockout is the first again
    for _ in range(3):
        v = _fail(s, 300.0 + POLICY.forget_after_s + 1)
        s = v.state
    assert v.locked_now_s == 10
