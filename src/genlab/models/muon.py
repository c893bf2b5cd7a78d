"""Muon (Keller Jordan, 2024): SGD-momentum whose update for each weight matrix is orthogonalised by a quintic
Newton-Schulz iteration, so every direction of the matrix moves at the same rate.

torch.optim.Muon runs the iteration in bfloat16, which CPUs without native bf16 emulate (about 25x slower than
float32 matmuls on an AVX2 EPYC): here the iteration runs in bfloat16 on CUDA and in float32 on CPUs.
"""
import torch

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # the quintic's (a, b, c): steepest slope at zero that still converges


def orthogonalize(matrix: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """≈ U·Vᵀ of each matrix = U·S·Vᵀ in a (..., rows, cols) stack (singular values land in about [0.7, 1.2], not
    exactly 1, which trains as well)."""
    a, b, c = NS_COEFFICIENTS
    x = matrix.to(torch.bfloat16 if matrix.device.type == "cuda" else torch.float32)
    tall = x.size(-2) > x.size(-1)
    if tall:
        x = x.mT  # iterate on the wide side: the Gram matrix is the smaller one
    x = x / x.norm(dim=(-2, -1), keepdim=True).clamp(min=eps)  # spectral norm <= Frobenius norm = 1
    for _ in range(steps):
        gram = x @ x.mT
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x.mT if tall else x).to(matrix.dtype)


class Muon(torch.optim.Optimizer):
    """Muon for 2-D parameters: Nesterov momentum, orthogonalised update scaled by sqrt(max(1, rows / cols)),
    decoupled weight decay."""

    def __init__(self, params, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                                      ns_steps=ns_steps))
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(f"Muon takes 2-D weight matrices only, got a parameter of shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            by_shape: dict[torch.Size, list[tuple[torch.Tensor, torch.Tensor]]] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buffer = state["momentum_buffer"]
                buffer.lerp_(p.grad, 1 - group["momentum"])
                update = p.grad.lerp(buffer, group["momentum"]) if group["nesterov"] else buffer
                by_shape.setdefault(p.shape, []).append((p, update))
            for (rows, cols), pairs in by_shape.items():  # one batched iteration per shape: fewer, larger matmuls
                updates = orthogonalize(torch.stack([update for _, update in pairs]), group["ns_steps"])
                for (p, _), update in zip(pairs, updates):
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update, alpha=-group["lr"] * max(1.0, rows / cols) ** 0.5)
        return loss
