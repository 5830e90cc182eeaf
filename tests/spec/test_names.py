"""Term and parameter names in lme4's and brms's spelling, both ways."""

from __future__ import annotations

import pytest

from replic.spec.names import (
    brms_term,
    lme4_term,
    parameter_names,
    parse_parameter,
)


@pytest.mark.parametrize(("column", "lme4", "brms"), [
    ("Intercept", "(Intercept)", "Intercept"),
    ("Sex[T.Male]", "SexMale", "SexMale"),
    ("age:Sex[T.Male]", "age:SexMale", "age:SexMale"),
    ("Type[T.mid-dose]", "Typemid-dose", "TypemidMdose"),
    ("Type[T2]", "TypeT2", "TypeT2"),
    ("Sex[F]:x", "SexF:x", "SexF:x"),
    ("Type[T.a:b]:x", "Typea:b:x", "Typea:b:x"),
    ("I(x ** 2)", "I(x^2)", "IxE2"),
])
def test_term_names(column, lme4, brms):
    assert lme4_term(column) == lme4
    assert brms_term(lme4) == brms


def test_parameter_names_round_trip():
    fixed, varying = ("Intercept", "Days"), ("Intercept", "Days")
    names = parameter_names(fixed, varying, "Subject", levels=("308", "a,b"))
    assert names[:6] == ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
                         "cor_Subject__Intercept__Days", "sigma"]
    for name in names:
        p = parse_parameter(name, fixed=fixed, varying=varying, group="Subject")
        assert p is not None
        if p.kind == "r":
            assert name == f"r_Subject[{p.level},{p.terms[0]}]"
    p = parse_parameter("r_Subject[a,b,Days]", varying=varying, group="Subject")
    assert (p.kind, p.level, p.terms, p.index) == ("r", "a,b", ("Days",), (1,))
    p = parse_parameter("cor_g__a__b__c", varying=("a__b", "c"), group="g")
    assert (p.terms, p.index) == (("a__b", "c"), (0, 1))


def test_unknown_parameters_are_none():
    kw = dict(fixed=("Intercept", "Days"), varying=("Intercept",), group="Subject")
    for name in ("b_Nope", "sd_Subject__Days", "sd_Other__Intercept", "cor_Subject__a__b",
                 "r_Subject[1,Days]", "lp__", "sd_"):
        assert parse_parameter(name, **kw) is None
