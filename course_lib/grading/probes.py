"""Probes: run a student's function or class on fixed inputs and report *plain data*
about it.

Most cases just call the student's function and compare the returned tensor. Some need
more: the gradient that flows back, the layers of a returned ``nn.Module``, the effect
of an initialiser applied to a model, the calls made to a model and a corruption passed
in. A probe does that work next to the student's code and returns only plain data
(tensors, numbers, strings, booleans, ``None`` and lists/dicts of them), which the case
then judges.

Where the code runs is the caller's business: :func:`probe` runs a probe in this process
(the student's ``check(...)``), or hands it to ``fn.__course_remote_probe__`` when
``fn`` stands for a function inside the grader's sandbox (``course_grader``), so that
the instructor's process never runs student code. Probes hold inputs and operations
only, never expected values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from course_lib.grading.core import CaseFailed

Fn = Callable[..., Any]


def probe(fn: Fn, kind: str, *args: Any, **kwargs: Any) -> Any:
    """Run the probe ``kind`` (a key of :data:`PROBES`) on ``fn`` and return its
    plain-data report."""
    remote = getattr(fn, "__course_remote_probe__", None)
    if remote is not None:
        return remote(kind, args, kwargs)
    if kind not in PROBES:
        raise KeyError(f"unknown probe {kind!r}; known: {', '.join(PROBES)}")
    return PROBES[kind](fn, *args, **kwargs)


def gradients(fn: Fn, args: Sequence[Any], wrt: Sequence[int]) -> dict[str, Any]:
    """Call ``fn(*args)`` with ``args[i]`` (``i`` in ``wrt``) as leaves that require
    gradients.

    Returns:
        ``out``: the return value (detached when a tensor); ``requires_grad``: whether
        it is a tensor attached to the graph; ``grads``: for each ``i`` in ``wrt``, the
        gradient of ``out.sum()`` with respect to ``args[i]`` (``None`` when none flows
        back).
    """
    inputs = list(args)
    for i in wrt:
        inputs[i] = inputs[i].detach().clone().requires_grad_(True)
    out = fn(*inputs)
    attached = isinstance(out, torch.Tensor) and out.requires_grad
    grads: list[torch.Tensor | None] = [None] * len(wrt)
    if attached:
        out.sum().backward()
        grads = [
            None if inputs[i].grad is None else inputs[i].grad.detach() for i in wrt
        ]
    return {
        "out": out.detach() if isinstance(out, torch.Tensor) else out,
        "requires_grad": attached,
        "grads": grads,
    }


def _torch_kinds(module: nn.Module) -> list[str]:
    """The ``torch.nn`` classes a module is an instance of
    (``["BatchNorm2d", "_BatchNorm", ...]``)."""
    return [
        cls.__name__
        for cls in type(module).__mro__
        if cls.__module__.startswith("torch.nn")
    ]


def module(
    fn: Fn,
    ctor_args: Sequence[Any],
    *,
    set_params: dict[str, torch.Tensor] | None = None,
    mode: str | None = None,
    forward: Sequence[tuple[str, torch.Tensor | int]] = (),
    backward: str | None = None,
    no_grad: bool = False,
) -> dict[str, Any]:
    """Build ``fn(*ctor_args)`` and describe it, optionally running it.

    Args:
        set_params: parameter values to copy in first (name -> tensor of that
            parameter's shape).
        mode: ``"train"`` or ``"eval"`` to switch the module before running it.
        forward: ``(path, x)`` pairs: call the module (``path=""``) or its attribute
            ``path`` (``"encoder"``) on ``x``; the outputs come back in ``outputs``. An
            int ``x`` stands for the output of that earlier call (``("decoder", 0)``:
            decode what call 0 encoded).
        backward: after the forward calls, differentiate ``"sum"`` (of the last output)
            or ``"squared_error"`` (of the last output against its input) and report
            ``grads``.
        no_grad: run the forward calls under ``torch.no_grad()``.

    Returns:
        ``is_module``, ``type``; for a module also ``parameters`` (name -> shape),
        ``n_parameters``, ``modules`` (one ``{"kinds": [...], "has_bias": bool}`` per
        sub-module, itself first), ``outputs`` (``None`` for a missing attribute),
        ``grads`` (name -> tensor or ``None``).
    """
    built = fn(*ctor_args)
    info: dict[str, Any] = {
        "is_module": isinstance(built, nn.Module),
        "type": type(built).__name__,
    }
    if not info["is_module"]:
        return info
    named = dict(built.named_parameters())
    if set_params:
        with torch.no_grad():
            for name, value in set_params.items():
                if name in named and tuple(named[name].shape) == tuple(value.shape):
                    named[name].copy_(value)
    if mode == "train":
        built.train()
    elif mode == "eval":
        built.eval()
    outputs: list[Any] = []
    with torch.no_grad() if no_grad else torch.enable_grad():
        for path, x in forward:
            target = built if not path else getattr(built, path, None)
            arg = outputs[x] if isinstance(x, int) and 0 <= x < len(outputs) else x
            outputs.append(
                target(arg)
                if callable(target) and isinstance(arg, torch.Tensor)
                else None
            )
    grads: dict[str, torch.Tensor | None] = {}
    if (
        backward
        and outputs
        and isinstance(outputs[-1], torch.Tensor)
        and outputs[-1].requires_grad
    ):
        last = outputs[-1]
        target = forward[-1][1]
        loss = (
            last.sum()
            if backward == "sum" or not isinstance(target, torch.Tensor)
            else ((last - target) ** 2).sum()
        )
        loss.backward()
        grads = {
            name: None if p.grad is None else p.grad.detach()
            for name, p in named.items()
        }
    info.update(
        parameters={name: list(p.shape) for name, p in named.items()},
        n_parameters=sum(p.numel() for p in named.values()),
        modules=[
            {"kinds": _torch_kinds(m), "has_bias": getattr(m, "bias", None) is not None}
            for m in built.modules()
        ],
        outputs=[o.detach() if isinstance(o, torch.Tensor) else o for o in outputs],
        grads=grads,
    )
    return info


def init_model() -> nn.Module:
    """The model an initialiser exercise is applied to: layers it must change and one it
    must not.

    The embedding's weights come from their own seeded generator, so they are known in
    advance.
    """
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(64, 64, 4),
        nn.BatchNorm2d(2000),
        nn.ConvTranspose2d(64, 64, 4, bias=False),
        nn.Linear(300, 300),
        nn.BatchNorm1d(2000),
        nn.Embedding(100, 50),
    )
    embedding = model[5]
    assert isinstance(embedding, nn.Embedding)
    with torch.no_grad():
        embedding.weight.copy_(embedding_weights())
    return model


def embedding_weights() -> torch.Tensor:
    """The embedding weights of :func:`init_model` before any initialiser runs, shape
    ``(100, 50)``."""
    return torch.randn(100, 50, generator=torch.Generator().manual_seed(7))


def apply_init(fn: Fn) -> dict[str, torch.Tensor]:
    """``init_model().apply(fn)``; return the model's state dict (name -> tensor)."""
    model = init_model()
    model.apply(fn)
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


class _Recorder(nn.Module):
    """A 'model' that returns a fixed tensor (or its input) and records its calls."""

    def __init__(self, output: torch.Tensor | None = None) -> None:
        super().__init__()
        self.output, self.calls = output, 0
        self.seen: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.seen = x
        return x if self.output is None else self.output


CORRUPTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "brighten": lambda t: (t + 0.3).clamp(-1, 1),
    "shift": lambda t: t + 0.1,
    "negate": lambda t: -t,
}


def denoise(
    fn: Fn, x: torch.Tensor, corrupt: str, output: torch.Tensor | None = None
) -> dict[str, Any]:
    """Call ``fn(model, x, corruption)`` with a recording model (returning ``output``,
    or identity).

    Returns:
        ``out`` (the loss), ``model_calls``, ``corrupt_calls`` and ``seen`` (what the
        model got).
    """
    if corrupt not in CORRUPTIONS:
        raise KeyError(
            f"unknown corruption {corrupt!r}; known: {', '.join(CORRUPTIONS)}"
        )
    calls = []

    def corruption(t: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return CORRUPTIONS[corrupt](t)

    model = _Recorder(output)
    out = fn(model, x, corruption)
    seen = model.seen.detach() if isinstance(model.seen, torch.Tensor) else None
    return {
        "out": out.detach() if isinstance(out, torch.Tensor) else out,
        "model_calls": model.calls,
        "corrupt_calls": len(calls),
        "seen": seen,
    }


def require_module(info: dict[str, Any], what: str) -> dict[str, Any]:
    """Raise :class:`CaseFailed` unless the :func:`module` report describes an
    ``nn.Module``."""
    if not info.get("is_module"):
        raise CaseFailed(
            f"{what} should be an nn.Module, got {info.get('type', 'something else')}"
        )
    return info


PROBES: dict[str, Callable[..., Any]] = {
    "gradients": gradients,
    "module": module,
    "apply_init": apply_init,
    "denoise": denoise,
}
