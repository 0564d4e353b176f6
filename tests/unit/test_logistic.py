"""hopscout.logistic: the Newton fit, the stored model, calibration error and AUROC on hand-made data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hopscout.errors import InvalidArgumentError
from hopscout.logistic import Logistic, auroc, expected_calibration_error, fit_logistic

X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
Y = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0])


def test_fit_logistic_reaches_the_penalised_optimum() -> None:
    coef, bias = fit_logistic(X, Y, l2=1.0)
    w = np.append(coef, bias)
    a = np.hstack([X, np.ones((len(X), 1))])
    p = 1 / (1 + np.exp(-(a @ w)))
    gradient = a.T @ (p - Y) + np.array([1.0, 0.0]) * w  # the intercept is not penalised
    assert np.abs(gradient).max() < 1e-6
    assert coef[0] > 0 and abs(bias) < 1e-9  # symmetric data: no intercept


def test_a_stronger_penalty_shrinks_the_coefficients() -> None:
    assert abs(fit_logistic(X, Y, l2=10.0)[0][0]) < abs(fit_logistic(X, Y, l2=0.1)[0][0])


def test_weights_count_as_repeated_rows() -> None:
    weighted = fit_logistic(X, Y, weights=np.array([1, 1, 2, 1, 1, 1.0]))
    repeated = fit_logistic(np.vstack([X, X[2:3]]), np.append(Y, Y[2]))
    assert weighted[0] == pytest.approx(repeated[0]) and weighted[1] == pytest.approx(repeated[1])


def test_logistic_standardises_and_round_trips_through_json() -> None:
    model = Logistic.fit(X * 10 + 3, Y, source="test")
    assert model.mean == pytest.approx((3.0,)) and model.source == "test"
    p = model.probability([[-17.0], [3.0], [23.0]])
    assert p[0] < 0.5 < p[2] and p[1] == pytest.approx(0.5)
    again = Logistic.from_json(model.to_json(), 1)
    assert again == model


def test_a_constant_feature_does_not_divide_by_zero() -> None:
    model = Logistic.fit(np.hstack([X, np.ones((6, 1))]), Y)
    assert model.scale[1] == 1.0 and np.isfinite(model.probability([[0.0, 1.0]])).all()


@pytest.mark.parametrize(
    ("text", "width", "message"),
    [
        ("not json", 1, "unreadable"),
        ('{"mean": [0]}', 1, "unreadable"),
        ('{"mean": [0], "scale": [1], "coef": [1], "bias": 0}', 2, "wrong number of features"),
    ],
)
def test_a_bad_stored_model_is_refused(text: str, width: int, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Logistic.from_json(text, width)


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([0.1, 0.9], [0, 1]) == pytest.approx(0.1)
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == pytest.approx(0.0)  # p = 1 falls in the top bin
    assert expected_calibration_error([0.55, 0.55, 0.55, 0.55], [1, 0, 0, 0]) == pytest.approx(0.3)


def test_auroc() -> None:
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auroc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert auroc([3.0, 1.0], [1, 0]) == 1.0
    assert math.isnan(auroc([0.2, 0.3], [1, 1]))
