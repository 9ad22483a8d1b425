"""Train the EELBERT-style intent student, optionally distilled from a larger teacher.

    python examples/eelbert_intent/train.py --data build/eelbert_intent/data \
        --out build/eelbert_intent [--distill]

With --distill, a BERT-style teacher (model.TEACHER: 4 layers, hidden 128) is trained first on
the same data; the student then learns from the labels, the teacher's softened logits (KL
divergence at temperature --temperature) and its final hidden states (MSE through a linear
map from the student's width to the teacher's, used only in training).

Writes to --out: weights.pt (the student), calib.npy (train features for int8 calibration),
eval.npz (the test split: features x, labels y, raw text), classes.json, frontend.json and
train_report.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from model import N_CLASSES, STUDENT, TEACHER, EncoderConfig, IntentEncoder
from torch import nn
from torch.nn import functional as F

BATCH_SIZE = 64
CALIB_PER_CLASS = 10


def load_split(data: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(data / f"{split}.npz") as npz:
        return npz["x"].astype(np.float32), npz["y"].astype(np.int64), npz["text"]


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(dim=1).numpy() == y).mean())


def fit(
    cfg: EncoderConfig,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    args: argparse.Namespace,
    teacher: IntentEncoder | None = None,
) -> tuple[IntentEncoder, int]:
    """Train a model of cfg (from the teacher too, if given); keep the best epoch on val."""
    torch.manual_seed(args.seed)
    model = IntentEncoder(cfg)
    to_teacher = nn.Linear(cfg.hidden, TEACHER.hidden) if teacher is not None else None
    params = [*model.parameters(), *(to_teacher.parameters() if to_teacher else [])]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    x_train, y_train = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    steps = args.epochs * -(-len(y_train) // BATCH_SIZE)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps)
    rng = torch.Generator().manual_seed(args.seed)
    best_val, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch in torch.randperm(len(y_train), generator=rng).split(BATCH_SIZE):
            x, y = token_dropout(x_train[batch], args.token_dropout, rng), y_train[batch]
            states = model.hidden_states(x)
            logits = model.classifier(states.mean(dim=1))
            loss = F.cross_entropy(logits, y, label_smoothing=0.1)
            if teacher is not None:
                with torch.no_grad():
                    teacher_states = teacher.hidden_states(x)
                    teacher_logits = teacher.classifier(teacher_states.mean(dim=1))
                t = args.temperature
                soft = F.kl_div(
                    F.log_softmax(logits / t, dim=1),
                    F.log_softmax(teacher_logits / t, dim=1),
                    log_target=True,
                    reduction="batchmean",
                )
                loss = loss + soft * t * t + F.mse_loss(to_teacher(states), teacher_states)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        val_acc = accuracy(model, *val)
        print(f"{cfg.hidden:4d}-wide epoch {epoch:3d}  loss {loss.item():.3f}  val {val_acc:.3f}")
        if val_acc > best_val:
            best_val, best_epoch, best_state = val_acc, epoch, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model.eval(), best_epoch


def token_dropout(x: torch.Tensor, p: float, rng: torch.Generator) -> torch.Tensor:
    """Zero whole token rows (as padding reads) with probability p: words go missing."""
    keep = torch.rand(x.shape[:2], generator=rng) >= p
    return x * keep[:, :, None]


def stratified_sample(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(y == label))[:per_class] for label in np.unique(y)]
    return np.sort(np.concatenate(picks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("build/eelbert_intent/data"))
    parser.add_argument("--out", type=Path, default=Path("build/eelbert_intent"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distill", action="store_true", help="distill from a trained teacher")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--token-dropout", type=float, default=0.15)
    args = parser.parse_args()

    classes = json.loads((args.data / "classes.json").read_text())
    if len(classes) != N_CLASSES:
        raise SystemExit(f"model.py has {N_CLASSES} classes, the dataset has {len(classes)}")
    torch.set_num_threads(1)  # a model this small only pays synchronization for more threads
    started = time.perf_counter()
    x_train, y_train, _ = load_split(args.data, "train")
    x_val, y_val, _ = load_split(args.data, "val")
    x_test, y_test, text_test = load_split(args.data, "test")
    report: dict = {}
    teacher = None
    if args.distill:
        teacher, epoch = fit(TEACHER, (x_train, y_train), (x_val, y_val), args)
        report["teacher"] = {
            "parameters": sum(p.numel() for p in teacher.parameters()),
            "best_epoch": epoch,
            "float_test_accuracy": accuracy(teacher, x_test, y_test),
        }
    student, epoch = fit(STUDENT, (x_train, y_train), (x_val, y_val), args, teacher)
    report.update({
        "parameters": sum(p.numel() for p in student.parameters()),
        "epochs": args.epochs,
        "best_epoch": epoch,
        "distilled": args.distill,
        "float_val_accuracy": accuracy(student, x_val, y_val),
        "float_test_accuracy": accuracy(student, x_test, y_test),
        "train_seconds": round(time.perf_counter() - started, 1),
    })  # fmt: skip

    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(student.state_dict(), args.out / "weights.pt")
    np.save(args.out / "calib.npy", x_train[stratified_sample(y_train, CALIB_PER_CLASS, args.seed)])
    np.savez(args.out / "eval.npz", x=x_test, y=y_test, text=text_test)
    for name in ("classes.json", "frontend.json"):
        shutil.copy(args.data / name, args.out / name)
    (args.out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
