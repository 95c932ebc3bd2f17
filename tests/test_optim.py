"""rnncourse.optim: Adam and Adagrad on dicts of arrays follow PyTorch's update rules exactly."""
import numpy as np
import pytest
import torch

from rnncourse.optim import Adagrad, Adam


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    grads = [{"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4) * (0 if k == 2 else 1)}
             for k in range(6)]  # one step with a zero gradient for b
    return params, grads


@pytest.mark.parametrize("ours, theirs, options", [
    (Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8}),
    (Adam, torch.optim.Adam, {}),
    (Adagrad, torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-10}),
    (Adagrad, torch.optim.Adagrad, {}),
])
def test_the_updates_equal_pytorch_step_by_step(ours, theirs, options):
    params, grads = _problem()
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    optimizer, reference = ours(params, **options), theirs(list(tensors.values()), **options)
    for step_grads in grads:
        for name, tensor in tensors.items():
            tensor.grad = torch.from_numpy(step_grads[name].copy())
        reference.step()
        optimizer.step(step_grads)
        for name, tensor in tensors.items():
            np.testing.assert_allclose(params[name], tensor.detach().numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", [Adam, Adagrad])
def test_step_updates_the_arrays_in_place_and_leaves_the_gradients_alone(kind):
    params, grads = _problem(1)
    arrays = dict(params)
    before = {k: v.copy() for k, v in params.items()}
    saved = {k: v.copy() for k, v in grads[0].items()}
    kind(params, lr=0.1).step(grads[0])
    for name in params:
        assert params[name] is arrays[name]  # the same objects, moved
        assert not np.array_equal(params[name], before[name])
        assert np.array_equal(grads[0][name], saved[name])


def test_adam_moves_each_parameter_by_about_lr_on_the_first_step():
    params, grads = _problem(2)
    before = {k: v.copy() for k, v in params.items()}
    Adam(params, lr=0.01).step(grads[0])
    for name in params:  # m_hat / sqrt(v_hat) = g / |g| = sign(g) on step 1
        np.testing.assert_allclose(before[name] - params[name], 0.01 * np.sign(grads[0][name]), rtol=1e-6)


def test_mismatched_gradients_and_bad_parameters_are_explained():
    params, grads = _problem(3)
    optimizer = Adam(params)
    with pytest.raises(KeyError, match=r"missing \['b'\]"):
        optimizer.step({"W": grads[0]["W"]})
    with pytest.raises(ValueError, match=r"grads\['b'\] has shape \(3,\)"):
        optimizer.step({"W": grads[0]["W"], "b": np.zeros(3)})
    assert optimizer.steps == 0  # a rejected step changes nothing
    with pytest.raises(TypeError, match="floating-point NumPy array"):
        Adagrad({"ids": np.arange(3)})
    with pytest.raises(ValueError, match="learning rate must be positive"):
        Adam(params, lr=0.0)
