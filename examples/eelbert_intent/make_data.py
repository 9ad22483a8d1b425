"""Make an offline smart-home intent dataset: templates with slot values, paraphrases, typos.

Each intent has several templates; the test split uses templates never seen in training (the
last template of each intent), validation the one before it, training the rest. Sentences get
random politeness paraphrases (prefixes and suffixes), case changes and keyboard typos.
Every split stores the raw text (`text`), the labels (`y`) and the hash-embedding features
(`x`, float32 [N, seq_len, width]) computed from the text with `frontend.json`'s config.

    python examples/eelbert_intent/make_data.py --out build/eelbert_intent/data
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from model import FRONTEND, N_CLASSES

from edgetx.frontends.hash_embedding import embed_float

SLOTS = {
    "room": ("kitchen", "living room", "bedroom", "bathroom", "hallway", "office", "garage",
             "dining room", "kids room", "basement", "attic", "porch"),
    "level": ("10", "20", "thirty", "40", "fifty", "60", "75", "80", "ninety", "100"),
    "temp": ("18", "19", "twenty", "21", "22.5", "23", "24", "seventeen", "25", "20.5"),
    "artist": ("the beatles", "miles davis", "daft punk", "adele", "bach", "nirvana",
               "taylor swift", "some jazz", "lo-fi beats", "radiohead"),
    "duration": ("5 minutes", "ten minutes", "30 seconds", "an hour", "2 minutes",
                 "half an hour", "90 seconds", "15 minutes", "three minutes", "20 minutes"),
    "door": ("front door", "back door", "garage door", "side door", "patio door", "gate"),
    "day": ("today", "tomorrow", "this weekend", "tonight", "on monday", "this afternoon"),
}  # fmt: skip

# The last template of each intent is the test split's, the one before it validation's.
INTENTS = {
    "lights_on": (
        "turn on the lights in the {room}", "switch the {room} lights on", "lights on",
        "{room} lights on", "can you light up the {room}", "put the lights on in the {room}",
        "i need some light in the {room}", "illuminate the {room}",
        "please get the {room} lights on", "turn the {room} lights on",
    ),
    "lights_off": (
        "turn off the lights in the {room}", "switch the {room} lights off", "lights off",
        "kill the lights in the {room}", "{room} lights off", "shut the {room} lights",
        "make it dark in the {room}", "no more light in the {room}",
        "get the {room} lights off", "turn the {room} lights off",
    ),
    "set_brightness": (
        "set the {room} lights to {level} percent", "dim the {room} lights to {level}",
        "brightness {level} in the {room}", "make the {room} lights {level} percent",
        "change the brightness to {level}", "{room} lamp at {level} percent",
        "adjust the {room} light level to {level}", "i want the lights at {level} percent",
        "{room} lights at {level} percent brightness", "dim the lights to {level} percent",
    ),
    "set_temperature": (
        "set the temperature to {temp} degrees", "make it {temp} degrees in the {room}",
        "heat the {room} to {temp}", "thermostat to {temp}", "change the heating to {temp}",
        "i want {temp} degrees in here", "warm the {room} up to {temp} degrees",
        "keep the {room} at {temp} degrees", "set the {room} thermostat to {temp} degrees",
        "heat it to {temp} degrees",
    ),
    "get_temperature": (
        "what is the temperature in the {room}", "how warm is the {room}",
        "how cold is it in the {room}", "temperature in the {room}", "is it hot in the {room}",
        "tell me the {room} temperature", "what's the thermostat reading",
        "how many degrees is it in the {room}", "how warm is it in here",
        "what temperature is it in the {room}",
    ),
    "lock_door": (
        "lock the {door}", "please lock up the {door}", "secure the {door}",
        "make sure the {door} is locked", "{door} lock", "bolt the {door}",
        "lock everything up", "engage the lock on the {door}", "lock the {door} now",
        "make sure to lock the {door}",
    ),
    "unlock_door": (
        "unlock the {door}", "open the lock on the {door}", "{door} unlock",
        "let me in through the {door}", "release the {door} lock", "unbolt the {door}",
        "disengage the {door} lock", "i need the {door} unlocked", "unlock the {door} for me",
        "i need to unlock the {door}",
    ),
    "play_music": (
        "play {artist}", "put on some {artist}", "play {artist} in the {room}",
        "start playing {artist}", "i want to hear {artist}", "music please, {artist}",
        "could you play something by {artist}", "queue up {artist} in the {room}",
        "play some {artist} in the {room}", "i want to hear some music by {artist}",
    ),
    "stop_music": (
        "stop the music", "pause the music in the {room}", "stop playing",
        "turn the music off", "silence the speakers in the {room}", "enough music",
        "halt the playback", "kill the music in the {room}", "stop the music in the {room}",
        "turn off the music",
    ),
    "set_volume": (
        "set the volume to {level}", "volume {level}", "turn the volume up to {level}",
        "make the music louder", "turn it down to {level} percent",
        "change the speaker volume in the {room} to {level}", "quieter please",
        "adjust the sound level to {level}", "volume to {level} percent",
        "set the speaker volume to {level}",
    ),
    "set_timer": (
        "set a timer for {duration}", "timer {duration}", "start a {duration} timer",
        "remind me in {duration}", "count down {duration}", "countdown for {duration}",
        "let me know when {duration} have passed", "wake me in {duration}",
        "set a {duration} timer", "start a timer for {duration}",
    ),
    "weather": (
        "what is the weather {day}", "will it rain {day}", "weather forecast for {day}",
        "do i need an umbrella {day}", "is it going to be sunny {day}",
        "how is the weather looking {day}", "any snow expected {day}",
        "should i bring a jacket {day}", "what will the weather be {day}",
        "is it going to rain {day}",
    ),
    "open_blinds": (
        "open the blinds in the {room}", "raise the {room} shades", "blinds up",
        "let the sun into the {room}", "open the {room} curtains", "pull up the blinds",
        "draw back the curtains in the {room}", "lift the shades in the {room}",
        "open the {room} blinds", "raise the blinds in the {room}",
    ),
    "close_blinds": (
        "close the blinds in the {room}", "lower the {room} shades", "blinds down",
        "shut the {room} curtains", "pull down the blinds", "block the sun in the {room}",
        "draw the curtains in the {room}", "drop the shades in the {room}",
        "close the {room} blinds", "lower the blinds in the {room}",
    ),
}  # fmt: skip
CLASSES = tuple(INTENTS)
PREFIXES = ("", "", "", "please ", "hey house, ", "could you ", "can you please ", "ok, ",
            "hi! ", "would you kindly ")  # fmt: skip
SUFFIXES = ("", "", "", " please", " now", " thanks", " right away", "?", "!", " for me")
KEYBOARD_NEIGHBOURS = {
    c: n for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i, c in enumerate(row) for n in [row[max(i - 1, 0)] + row[min(i + 1, len(row) - 1)]]
}  # fmt: skip


def typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard typo: swap two letters, drop, double or replace one by a neighbour."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 2:
        return text
    i = int(rng.choice(letters[:-1]))
    kind = rng.integers(4)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    return (
        text[:i] + str(rng.choice(list(KEYBOARD_NEIGHBOURS.get(text[i], text[i])))) + text[i + 1 :]
    )


def sentence(template: str, rng: np.random.Generator) -> str:
    text = template.format(**{k: str(rng.choice(v)) for k, v in SLOTS.items()})
    text = str(rng.choice(PREFIXES)) + text + str(rng.choice(SUFFIXES))
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        text = typo(text, rng)
    case = rng.integers(6)
    if case == 0:
        text = text.upper()
    elif case == 1:
        text = text.capitalize()
    return text


def split_templates(split: str) -> dict[int, tuple[str, ...]]:
    pick = {"train": slice(0, -2), "val": slice(-2, -1), "test": slice(-1, None)}[split]
    return {label: INTENTS[name][pick] for label, name in enumerate(CLASSES)}


def make_split(split: str, per_class: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    texts, labels = [], []
    for label, templates in split_templates(split).items():
        for i in range(per_class):
            texts.append(sentence(templates[i % len(templates)], rng))
            labels.append(label)
    return {
        "x": np.stack([embed_float(t, FRONTEND) for t in texts]),
        "y": np.array(labels, np.int64),
        "text": np.array(texts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/eelbert_intent/data"))
    parser.add_argument("--per-class", type=int, default=300, help="train sentences per intent")
    parser.add_argument("--eval-per-class", type=int, default=40, help="val/test per intent")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if len(CLASSES) != N_CLASSES:
        raise SystemExit(f"model.py has {N_CLASSES} classes, this dataset {len(CLASSES)}")
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    counts = {"train": args.per_class, "val": args.eval_per_class, "test": args.eval_per_class}
    for split, count in counts.items():
        np.savez(args.out / f"{split}.npz", **make_split(split, count, rng))
    (args.out / "classes.json").write_text(json.dumps(list(CLASSES), indent=2) + "\n")
    (args.out / "frontend.json").write_text(json.dumps(FRONTEND.to_dict(), indent=2) + "\n")
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
