"""The models: architecture and parameter counts, seeded initialisation, the functional interface distillation
uses (including second derivatives through the quantum LeNet), execution counting and error messages."""
import pytest
import torch
import torch.nn.functional as F

from qdd.core import ConfigError
from qdd.models import (MODELS, AlexCifarNet, LeNet, QuantumLeNet, count_executions, functional_forward, init_weights,
                        make_model, param_counts, reset_executions, trainable_params)
from qdd.pqc import PQC

GEOMETRIES = {"mnist": (1, 28), "cifar": (3, 32)}


def total(model): return sum(param_counts(model).values())


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_every_model_maps_images_to_logits(name, geometry):
    c, s = GEOMETRIES[geometry]
    assert make_model(name, c, s, n_classes=7)(torch.randn(2, c, s, s)).shape == (2, 7)


def test_parameter_counts():
    assert total(make_model("qlenet")) == 59_369  # the paper's ~59.4k
    assert param_counts(make_model("qlenet"))["pqc"] == 54 + 48
    assert total(make_model("qlenet", 3, 32)) == 59_669
    assert total(make_model("qlenet", hermitian="fixed")) == 59_369 - 48
    assert total(make_model("qlenet", train_pqc=False)) == 59_369 - 54
    assert total(make_model("lenet")) == 61_706
    assert make_model("alexcifarnet", 3, 32).classifier.fc1.in_features == 4096
    assert total(make_model("alexcifarnet", 3, 32)) == 1_756_426


def test_quantum_lenet_architecture():
    m = make_model("qlenet")
    assert m.features.conv1.padding == (2, 2) and make_model("qlenet", 3, 32).features.conv1.padding == (0, 0)
    assert (m.fc2.in_features, m.fc2.out_features, m.fc3.in_features, m.fc_res.in_features) == (120, 64, 6, 64)
    assert (m.fc_final.in_features, m.fc_final.out_features) == (10, 10)
    assert (m.pqc.n_qubits, m.pqc.n_layers, tuple(m.pqc.weights.shape)) == (6, 3, (3, 6, 3))
    assert m.alpha.item() == 0.5 and m.alpha.requires_grad


def test_quantum_lenet_forward_is_the_residual_mix():
    m = make_model("qlenet", seed=2)
    x = torch.randn(3, 1, 28, 28)
    z = m.fc2(m.features(x))
    expected = m.fc_final(m.alpha * m.fc3(m.pqc(z)) + (1 - m.alpha) * F.relu(m.fc_res(z)))
    torch.testing.assert_close(m(x), expected)


def test_make_model_is_deterministic_given_the_seed():
    for name in MODELS:
        a, b, c = (make_model(name, seed=s) for s in (4, 4, 5))
        for k, v in a.state_dict().items():
            assert torch.equal(v, b.state_dict()[k]), (name, k)
        assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())


def test_init_weights_follows_the_design():
    m = init_weights(QuantumLeNet(), 0)
    linear_and_conv = [mod for mod in m.modules() if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d))]
    assert all(mod.bias.abs().sum() == 0 for mod in linear_and_conv)
    assert abs(m.features.fc1.weight.std().item() - (2 / (400 + 120))**0.5) < 0.005
    assert abs(m.pqc.weights.std().item() - (2 / (18 + 9))**0.5) < 0.15  # Xavier over (3, 6, 3): fans 18 and 9
    state = {k: v.clone() for k, v in m.state_dict().items()}
    init_weights(m, 0)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in state.items())
    assert torch.equal(make_model("qlenet", seed=3, hermitian="fixed").pqc.herm_real,
                       make_model("qlenet", seed=3).pqc.herm_real.detach())


def test_init_is_the_same_in_double_precision_circuits():
    a, b = make_model("qlenet", seed=1), make_model("qlenet", seed=1, dtype=torch.complex128)
    torch.testing.assert_close(b.pqc.weights.float(), a.pqc.weights)
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(b(x), a(x), atol=1e-4, rtol=1e-4)
    assert make_model("qlenet").double()(x.double()).dtype == torch.float64


@pytest.mark.parametrize("call,message", [
    (lambda: make_model("resnet"), "choose one of lenet, qlenet, alexcifarnet"),
    (lambda: make_model("lenet", hermitian="fixed"), "takes no quantum options"),
    (lambda: make_model("alexcifarnet", train_pqc=False), "takes no quantum options"),
    (lambda: make_model("qlenet", hermitan="fixed"), "unknown quantum option"),
    (lambda: make_model("qlenet", hermitian="learned"), "'trainable', 'fixed', 'pauliz'"),
    (lambda: make_model("qlenet", backend="pennylane", device="nowhere.qubit"), "not installed"),
    (lambda: make_model("lenet", 0, 28), "in_channels must be"),
    (lambda: make_model("lenet", 1, 15), "img_size must be an integer >= 16"),
    (lambda: make_model("qlenet", n_classes=1), "n_classes must be"),
    (lambda: make_model("lenet")(torch.randn(2, 3, 32, 32)), r"\(batch, 1, 28, 28\)"),
    (lambda: make_model("qlenet")(torch.randn(2, 1, 32, 32)), r"\(batch, 1, 28, 28\)"),
])
def test_bad_input_is_a_config_error_with_the_fix(call, message):
    with pytest.raises(ConfigError, match=message): call()


def test_trainable_params_leave_frozen_parts_out():
    assert {"pqc.weights", "pqc.herm_real", "pqc.herm_imag", "alpha"} <= set(trainable_params(make_model("qlenet")))
    frozen = trainable_params(make_model("qlenet", hermitian="fixed", train_pqc=False))
    assert not any(k.startswith("pqc.") for k in frozen)
    assert all(p.requires_grad for p in frozen.values())


def test_functional_forward_uses_the_given_parameters():
    m = make_model("qlenet")
    x = torch.randn(4, 1, 28, 28)
    params = trainable_params(m)
    assert torch.equal(functional_forward(m, params, x), m(x))
    shifted = {k: v + 0.01 for k, v in params.items()}
    assert not torch.allclose(functional_forward(m, shifted, x), m(x))
    assert torch.equal(functional_forward(m, {}, x), m(x))


def unrolled_loss(model, images, labels, lrs, x_real, y_real):
    params = trainable_params(model)
    for lr in lrs:
        grads = torch.autograd.grad(F.cross_entropy(functional_forward(model, params, images), labels),
                                    list(params.values()), create_graph=True)
        params = {k: p - lr * g for (k, p), g in zip(params.items(), grads)}
    return F.cross_entropy(functional_forward(model, params, x_real), y_real)


@pytest.mark.parametrize("name", list(MODELS))
def test_gradients_reach_distilled_images_and_step_sizes(name):
    torch.manual_seed(0)
    c, s = GEOMETRIES["cifar" if name == "alexcifarnet" else "mnist"]
    images = torch.randn(10, c, s, s, requires_grad=True)
    lrs = torch.full((3,), 0.01, requires_grad=True)
    loss = unrolled_loss(make_model(name, c, s), images, torch.arange(10), lrs, torch.randn(16, c, s, s),
                         torch.randint(0, 10, (16,)))
    loss.backward()
    assert torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0
    assert torch.isfinite(lrs.grad).all() and (lrs.grad != 0).all()


def test_unrolled_image_gradient_of_the_quantum_lenet_matches_finite_differences():
    torch.manual_seed(0)
    model = make_model("qlenet", seed=0, dtype=torch.complex128).double()
    images = torch.randn(10, 1, 28, 28, dtype=torch.float64)
    x_real, y_real = torch.randn(8, 1, 28, 28, dtype=torch.float64), torch.randint(0, 10, (8,))
    lrs = torch.tensor([0.05, 0.05], dtype=torch.float64)
    f = lambda imgs: unrolled_loss(model, imgs, torch.arange(10), lrs, x_real, y_real)
    direction = torch.randn_like(images)
    x = images.clone().requires_grad_()
    analytic = (torch.autograd.grad(f(x), x)[0] * direction).sum()
    h = 1e-5
    numeric = (f(images + h * direction) - f(images - h * direction)) / (2 * h)
    assert abs(analytic.item() - numeric.item()) < 1e-6 * max(1, abs(numeric.item()))


def test_execution_counts():
    m = reset_executions(make_model("qlenet"))
    m(torch.randn(7, 1, 28, 28))
    functional_forward(m, trainable_params(m), torch.randn(5, 1, 28, 28))
    assert count_executions(m) == 12
    assert count_executions(reset_executions(m)) == 0
    assert count_executions(make_model("lenet")) == 0 and count_executions(make_model("alexcifarnet")) == 0


def test_the_pennylane_backend_evaluates_a_quantum_lenet():
    x = torch.randn(2, 1, 28, 28)
    on_device = make_model("qlenet", seed=1, backend="pennylane", device="lightning.qubit")
    assert isinstance(on_device.pqc, PQC) and on_device.pqc.backend == "pennylane"
    with torch.no_grad():
        torch.testing.assert_close(on_device(x), make_model("qlenet", seed=1)(x), atol=1e-5, rtol=1e-5)
