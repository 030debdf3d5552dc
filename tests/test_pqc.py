"""The PQC against its specification, the PennyLane QNode of the same circuit: unitary, reduced density matrices,
values and first and second derivatives over random circuits, both precisions; the module's modes, backends,
counters and error messages."""
import copy, pickle, warnings

import pytest
import torch

from qdd.core import ConfigError
from qdd.pqc import PQC, circuit_specs, draw_circuit, reference_qnode
from qdd.sim import (PAULIS, bloch_vectors, check_hermitians, circuit_unitary, density_matrices, example_inputs,
                     hermitian_from, pauli_coefficients, pauli_coefficients_of_a, torch_expvals)

qml = pytest.importorskip("pennylane")
warnings.filterwarnings("ignore", message=".*non-trainable.*")

SIZES = [(2, 1), (2, 3), (3, 2), (4, 3), (5, 2), (6, 1), (6, 3)]   # (n_qubits, n_layers)
TOL = {torch.complex64: 1e-5, torch.complex128: 1e-10}


def assert_close(actual, expected, tol, what=""):
    "Equal within `tol`, relative to the size of the expected values (at least 1)."
    scale = max(1.0, expected.abs().max().item())
    err = (actual.to(expected.dtype) - expected).abs().max().item()
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol:g} x {scale:.3g}"


def reference(n, L):
    qnode = reference_qnode(n, L)
    return lambda z, w, ar, ai: torch.stack(qnode(z, w, hermitian_from(ar, ai)), -1)


def engine(cdtype):
    return lambda z, w, ar, ai: torch_expvals(z, w, ar, ai, cdtype)


def derivatives(f, inputs, seed=0):
    "Values, gradient of a random linear functional, and a Hessian-vector product, w.r.t. every input."
    g = torch.Generator().manual_seed(seed)
    args = [x.detach().clone().requires_grad_() for x in inputs]
    out = f(*args)
    weights = torch.randn(out.shape, generator=g, dtype=torch.float64).to(out.dtype)
    grads = torch.autograd.grad((out * weights).sum(), args, create_graph=True)
    directions = [torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.dtype) for x in args]
    hvp = torch.autograd.grad(sum((gr * d).sum() for gr, d in zip(grads, directions)), args)
    return out.detach(), [x.detach() for x in grads], list(hvp)


@pytest.mark.parametrize("n,L", SIZES)
@pytest.mark.parametrize("cdtype", [torch.complex64, torch.complex128])
def test_unitary_matches_pennylane(n, L, cdtype):
    w = example_inputs(n, L, seed=n + L)[1]
    expected = qml.matrix(qml.StronglyEntanglingLayers(w, wires=range(n)), wire_order=range(n))
    assert_close(circuit_unitary(w, cdtype), torch.as_tensor(expected), TOL[cdtype], "unitary")


@pytest.mark.parametrize("n,L", SIZES)
def test_reduced_density_matrices_match_pennylane(n, L):
    z, w, _, _ = example_inputs(n, L, batch=3, seed=n)
    @qml.qnode(qml.device("default.qubit", wires=n))
    def rho(z, w):
        qml.AmplitudeEmbedding(z, wires=range(n), normalize=True)
        qml.StronglyEntanglingLayers(w, wires=range(n))
        return [qml.density_matrix(wires=i) for i in range(n)]
    assert_close(density_matrices(bloch_vectors(z, w, torch.complex128)), torch.stack(rho(z, w), 1), 1e-12, "rho")


@pytest.mark.parametrize("n,L", SIZES)
@pytest.mark.parametrize("cdtype", [torch.complex64, torch.complex128])
def test_values_and_two_derivatives_match_pennylane(n, L, cdtype):
    inputs = example_inputs(n, L, batch=5, seed=10 * n + L)
    expected = derivatives(reference(n, L), inputs)
    low = [x.float() for x in inputs] if cdtype == torch.complex64 else inputs
    actual = derivatives(engine(cdtype), low)
    assert_close(actual[0], expected[0], TOL[cdtype], "values")
    for name, a, e in zip(("z", "weights", "A real", "A imag"), actual[1], expected[1]):
        assert_close(a, e, TOL[cdtype], f"d/d {name}")
    for name, a, e in zip(("z", "weights", "A real", "A imag"), actual[2], expected[2]):
        assert_close(a, e, TOL[cdtype], f"d2/d {name}")


def test_hermitian_parametrisation():
    _, _, ar, ai = example_inputs(6, 3)
    H = hermitian_from(ar, ai)
    assert torch.equal(H, H.mH)
    torch.testing.assert_close(pauli_coefficients_of_a(ar, ai), pauli_coefficients(H))
    torch.testing.assert_close(hermitian_from(H.real, H.imag), H)  # A = H represents H exactly


@pytest.mark.parametrize("mode", ["trainable", "fixed", "pauliz"])
def test_modes_match_reference_and_store_what_they_should(mode):
    pqc = PQC(n_qubits=4, n_layers=2, hermitian=mode, dtype=torch.complex128)
    z = torch.randn(6, 16, dtype=torch.float64)
    expected = torch.stack(reference_qnode(4, 2)(z, pqc.weights, pqc.hermitians()), -1)
    assert_close(pqc(z), expected, 1e-12, mode)
    params = {n for n, _ in pqc.named_parameters()}
    assert params == ({"weights", "herm_real", "herm_imag"} if mode == "trainable" else {"weights"})
    if mode == "pauliz": assert torch.equal(pqc.hermitians(), PAULIS[3].expand(4, 2, 2))


def test_frozen_angles_are_a_buffer():
    pqc = PQC(train_pqc=False)
    assert "weights" in dict(pqc.named_buffers()) and "weights" not in dict(pqc.named_parameters())


def test_explicit_hermitians_are_used_and_kept_by_reset():
    H = check_hermitians(torch.stack([PAULIS[1], PAULIS[2], PAULIS[3]] * 2), 6)
    pqc = PQC(hermitian="fixed", hermitians=H)
    pqc.reset_parameters(torch.Generator().manual_seed(1))
    torch.testing.assert_close(pqc.hermitians(), H.to(torch.complex64))


def test_functional_call_and_a_distillation_style_second_derivative_match_reference():
    pqc = PQC(n_qubits=3, n_layers=2, dtype=torch.complex128)
    x = torch.randn(4, 8, dtype=torch.float64, requires_grad=True)
    def data_gradient(f):
        params = dict(pqc.named_parameters())
        grads = torch.autograd.grad(f(params, x).square().sum(), list(params.values()), create_graph=True)
        stepped = {k: p - 0.1 * g for (k, p), g in zip(params.items(), grads)}
        return torch.autograd.grad(f(stepped, x).sum(), x)[0]
    qnode = reference_qnode(3, 2)
    ours = data_gradient(lambda p, x: torch.func.functional_call(pqc, p, (x,)))
    theirs = data_gradient(lambda p,
                           x: torch.stack(qnode(x, p["weights"], hermitian_from(p["herm_real"], p["herm_imag"])), -1))
    assert_close(ours, theirs, 1e-10, "data gradient")


def test_zero_input_is_the_maximally_mixed_state_with_finite_gradients():
    pqc = PQC()
    z = torch.zeros(3, 64, requires_grad=True)
    out = pqc(z)
    torch.testing.assert_close(out, pauli_coefficients(pqc.hermitians())[:, 0].float().expand(3, 6))
    assert torch.isfinite(torch.autograd.grad(out.sum(), z)[0]).all()


def test_precision_and_output_dtype():
    assert PQC()(torch.randn(2, 64)).dtype == torch.float32
    assert PQC(dtype=torch.complex128)(torch.randn(2, 64)).dtype == torch.float64
    assert PQC()(torch.randn(64)).shape == (6,)


def test_executions_count_samples_per_forward_pass():
    pqc = PQC()
    pqc(torch.randn(5, 64)); pqc(torch.randn(64))
    torch.func.functional_call(pqc, dict(pqc.named_parameters()), (torch.randn(2, 64),))
    assert pqc.executions == 8


def test_seeded_reset_is_reproducible():
    a, b = PQC(), PQC()
    for m in (a, b): m.reset_parameters(torch.Generator().manual_seed(7))
    for k, v in a.state_dict().items(): assert torch.equal(v, b.state_dict()[k])


@pytest.mark.parametrize("kwargs,message", [
    (dict(hermitian="learned"), "'trainable', 'fixed', 'pauliz'"),
    (dict(backend="qiskit"), "'torch', 'pennylane'"),
    (dict(backend="pennylane", device="lightning.gpu"), "is not installed"),
    (dict(shots=100), "backend='pennylane'"),
    (dict(device="lightning.qubit"), "backend='pennylane'"),
    (dict(backend="pennylane", shots=0), "positive integer"),
    (dict(dtype=torch.float32), "dtype"),
    (dict(n_qubits=0), "positive integer"),
    (dict(n_qubits=11), "(--n-qubits) <= 10"),
    (dict(hermitians=torch.tensor([[0, 1], [0, 0]]).repeat(6, 1, 1)), "not Hermitian"),
    (dict(hermitians=torch.eye(2).repeat(5, 1, 1)), "shape (6, 2, 2)"),
    (dict(hermitian="pauliz", hermitians=torch.eye(2).repeat(6, 1, 1)), "conflicts"),
])
def test_bad_arguments_fail_in_the_constructor_with_a_fix(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")): PQC(**kwargs)


def test_bad_input_at_call_time():
    with pytest.raises(ConfigError, match=r"\(batch, 64\)"): PQC()(torch.randn(4, 32))
    with pytest.raises(ConfigError, match="not Hermitian"):
        PQC().set_hermitians(torch.tensor([[0, 1j], [1j, 0]]).repeat(6, 1, 1))
    with pytest.raises(ConfigError, match="pauliz"):
        PQC(hermitian="pauliz").set_hermitians(torch.eye(2).repeat(6, 1, 1))


def test_pennylane_backend_matches_the_engine_to_first_order_and_refuses_second_order():
    torch.manual_seed(0)
    exact = PQC(n_qubits=3, n_layers=2, dtype=torch.complex128)
    on_device = PQC(n_qubits=3, n_layers=2, backend="pennylane", device="lightning.qubit", dtype=torch.complex128)
    on_device.load_state_dict(exact.state_dict())
    assert on_device.diff_method == "adjoint"
    x = torch.randn(4, 8, dtype=torch.float64, requires_grad=True)
    tol = 1e-6  # lightning returns float32 results through the torch interface (PennyLane issue #5519)
    assert_close(on_device(x), exact(x), tol, "values")
    grads = lambda m: torch.autograd.grad((m(x) * torch.arange(1.0, 4.0, dtype=torch.float64)).sum(),
                                          [x, *m.parameters()])
    for a, e in zip(grads(on_device), grads(exact)): assert_close(a, e, tol, "first derivatives")
    with torch.no_grad(): assert_close(on_device(x), exact(x), tol, "values, Hermitian measured directly")
    with pytest.raises(ConfigError, match="first derivatives only"):
        torch.autograd.grad(on_device(x).sum(), x, create_graph=True)
    assert on_device.executions == 4 * 4


def test_pennylane_backend_with_shots_uses_parameter_shift_per_sample():
    pqc = PQC(n_qubits=2, n_layers=1, hermitian="pauliz", backend="pennylane", shots=50_000, dtype=torch.complex128)
    exact = PQC(n_qubits=2, n_layers=1, hermitian="pauliz", dtype=torch.complex128)
    exact.load_state_dict(pqc.state_dict())
    assert pqc.diff_method == "parameter-shift"
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    assert_close(pqc(x), exact(x), 0.03, "estimates")
    g_shots, g_exact = (torch.autograd.grad(m(x).sum(), [m.weights])[0] for m in (pqc, exact))
    assert_close(g_shots, g_exact, 0.1, "parameter-shift gradient")


def test_pennylane_backend_modules_copy_and_pickle_after_use():
    pqc = PQC(n_qubits=2, n_layers=1, backend="pennylane", device="lightning.qubit")
    pqc(torch.randn(2, 4))
    for clone in (copy.deepcopy(pqc), pickle.loads(pickle.dumps(pqc))):
        torch.testing.assert_close(clone(torch.ones(1, 4)), pqc(torch.ones(1, 4)))


def test_drawing_and_specs(tmp_path):
    fig = draw_circuit(3, 2, path=tmp_path / "circuit.png")
    assert fig is not None and (tmp_path / "circuit.png").stat().st_size > 5_000
    specs = circuit_specs()
    assert specs["gates"] == {"AmplitudeEmbedding": 1, "Rot": 18, "CNOT": 18} and specs["angles"] == 54
