"""Family: validation, links and their inverses, response checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from replic.errors import ReplicInputError
from replic.family import FAMILIES, GAUSSIAN, Family


def test_of_parses_names_links_and_defaults():
    assert Family.of(None) == GAUSSIAN == Family.of("gaussian")
    assert Family.of("Bernoulli") == Family("bernoulli", "logit")
    assert Family.of("bernoulli(probit)") == Family("bernoulli", "probit")
    assert Family.of("binomial", link="probit").link == "probit"
    assert Family.of(Family("poisson")) == Family("poisson", "log")
    assert str(Family("poisson")) == "poisson(log)"
    assert len({Family("bernoulli"), Family.of("bernoulli")}) == 1


@pytest.mark.parametrize("value, link, match", [
    ("negbinomial", None, "expected one of"), ("poisson", "logit", "link"),
    (3, None, "family name"), ("bernoulli(logit)", "probit", "link"),
])
def test_bad_families_are_refused(value, link, match):
    with pytest.raises(ReplicInputError, match=match):
        Family.of(value, link=link, where="study.toml: family")


@pytest.mark.parametrize("name", list(FAMILIES))
def test_inverse_link_inverts_the_link(name):
    for link in FAMILIES[name]:
        f = Family(name, link)
        eta = np.linspace(-4, 4, 9)
        np.testing.assert_allclose(f.link_fun(f.inverse_link(eta)), eta, atol=1e-9)
    assert Family("bernoulli", "probit").inverse_link(0.3) == pytest.approx(stats.norm.cdf(0.3))


def test_check_response():
    Family("bernoulli").check_response(np.array([0, 1, 1]))
    Family("binomial").check_response(np.array([0, 3]), trials=np.array([1, 3]))
    with pytest.raises(ReplicInputError, match="value 2 in row 2"):
        Family("bernoulli").check_response(np.array([0, 2]))
    with pytest.raises(ReplicInputError, match="count"):
        Family("poisson").check_response(np.array([0, 1.5]))
    with pytest.raises(ReplicInputError, match="trials 0"):
        Family("binomial").check_response(np.array([0, 1]), trials=np.array([0, 3]))
