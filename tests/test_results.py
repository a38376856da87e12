"""Results described for tables: exact enough to tell a float from an int, short and deterministic."""

from __future__ import annotations

import torch

from jitviz.results import describe


def test_a_float_result_is_not_shown_as_an_int():
    assert describe(torch.tensor(2.0)) == "tensor(2.)"
    assert describe(torch.tensor(2)) == "tensor(2)"
    assert describe(torch.tensor([1.0, 0.5, -3.0])) == "tensor([1., 0.5, -3.])"
    assert describe(torch.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2], [3, 4]])"
    assert describe(torch.tensor(1e10)) == "tensor(1e+10)"


def test_large_results_are_summarised_and_containers_kept():
    assert describe(torch.ones(3, 4)) == "Tensor(3, 4), mean 1"
    assert describe((torch.tensor(1.0),)) == "(tensor(1.),)"
    assert describe([1, "a"]) == "[1, 'a']"


def test_dicts_of_tensors_agree_key_by_key():
    from jitviz.results import agree

    assert agree({"out": torch.ones(2), "aux": torch.zeros(2)}, {"out": torch.ones(2), "aux": torch.zeros(2)}) == \
        (True, "")
    same, why = agree({"out": torch.ones(2)}, {"out": torch.zeros(2)})
    assert not same and why.startswith("['out']: max |difference| 1")
    assert agree({"a": torch.ones(1)}, {"b": torch.ones(1)})[0] is False
    same, why = agree({"out": torch.ones(2), "aux": torch.ones(2)}, {"out": torch.ones(2), "aux": torch.zeros(2)})
    assert not same and why.startswith("['aux']")  # every key is compared, not only the first
    assert agree([torch.ones(2)], [torch.ones(2)]) == (True, "")
