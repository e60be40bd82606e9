"""The hostile-input corpus: one table of command lines a hostile but fair user might type.

Each row: a name, the arguments of `unclip` ({in} is a folder of prepared inputs, {out} an
empty folder, {tmp} their parent), the exit code, a fragment the one-line error must contain,
the environment it runs under, and whether it is slow. Most rows fail before the model loads;
rows that load the bundled model take seconds each, so only a few of them run in the default
suite, and rows that sample are all slow. Every row must leave no file behind and change no
input; tests/hostile/test_cli_corpus.py runs them.
Slow rows: `.venv/bin/python -m pytest tests/hostile -m slow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    code: int
    fragment: str
    env: dict[str, str] = field(default_factory=dict)
    slow: bool = False


def case(name: str, command: str, code: int, fragment: str, *, env: dict[str, str] | None = None, slow: bool = False) -> Case:
    """`command` is split on spaces; "~" inside an argument stands for a space."""
    argv = tuple(part.replace("~", " ") for part in command.split(" "))
    return Case(name, argv, code, fragment, env or {}, slow)


GEN = "generate red~heart -o {out}/x.png"
TINY = "config show --config {in}/graph.yaml"

CASES: list[Case] = [
    # ---- generate: numbers, checked before the model loads -----------------------------------
    case("nan decoder guidance", f"{GEN} --decoder-guidance nan", 2, "--decoder-guidance must be a finite number of at least 0 and at most 100, got nan"),
    case("inf prior guidance", f"{GEN} --prior-guidance inf", 2, "--prior-guidance must be a finite number"),
    case("-inf decoder guidance", f"{GEN} --decoder-guidance=-inf", 2, "got -inf"),
    case("negative guidance", f"{GEN} --prior-guidance -1", 2, "at least 0 and at most 100, got -1.0"),
    case("huge guidance", f"{GEN} --decoder-guidance 1e9", 2, "at most 100"),
    case("guidance not a number", f"{GEN} --decoder-guidance lots", 2, "invalid float value: 'lots'"),
    case("zero images", f"{GEN} -n 0", 2, "-n/--num-images must be a whole number of at least 1, got 0"),
    case("negative images", f"{GEN} -n -5", 2, "got -5"),
    case("images not a number", f"{GEN} -n many", 2, "invalid int value: 'many'"),
    case("fractional images", f"{GEN} -n 2.5", 2, "invalid int value: '2.5'"),
    case("zero prior steps", f"{GEN} --prior-steps 0", 2, "--prior-steps must be a whole number of at least 1 and at most 10000"),
    case("huge decoder steps", f"{GEN} --decoder-steps 100000", 2, "--decoder-steps must be a whole number of at least 1 and at most 10000, got 100000"),
    case("negative upsampler steps", f"{GEN} --upsampler-steps -1", 2, "--upsampler-steps must be"),
    case("negative seed", f"{GEN} --seed -1", 2, "--seed must be a whole number of at least 0 and at most 2^64-1"),
    case("seed past 64 bits", f"{GEN} --seed 18446744073709551616", 2, "--seed must be"),
    case("zero budget", f"{GEN} --max-pixels 0", 2, "--max-pixels must be a whole number of at least 1"),
    case("budget variable not a number", GEN, 2, "UNCLIP_MAX_PIXELS='lots' must be a whole number", env={"UNCLIP_MAX_PIXELS": "lots"}),
    case("chunk variable negative", f"{GEN} --model {{in}}/no-model", 2, "neither a pipeline folder nor a known model", env={"UNCLIP_CHUNK_PIXELS": "5"}),
    # ---- generate: output paths, checked before the model loads --------------------------------
    case("output folder missing", "generate x -o {out}/missing/x.png", 2, "folder {out}/missing does not exist; create it first"),
    case("output without image suffix", "generate x -o {out}/x.txt", 2, "cannot tell the image format of {out}/x.txt"),
    case("output with no suffix", "generate x -o {out}/x", 2, "end the file name in .png, .jpg or .webp"),
    case("output is a folder", "generate x -o {out}", 2, "cannot write {out}: it is a folder"),
    case("separate outputs in a missing folder", "generate x -n 2 --separate -o {out}/missing/x.png", 2, "{out}/missing does not exist"),
    case("device that does not exist", f"{GEN} --device gpu0", 2, "--device 'gpu0' is not a device; use cpu, cuda or cuda:N"),
    # ---- generate: model and graph overrides (the graph is checked before any weights load) ----
    case("model folder missing", f"{GEN} --model {{in}}/no-model", 2, "is neither a pipeline folder nor a known model; known models: unclip-emoji"),
    case("model folder without checksums", f"{GEN} --model {{in}}", 2, "is not a pipeline folder: checksums.json is missing"),
    case("override without =", f"{GEN} --set decoder.guidance_scale", 2, "must look like key=value", slow=True),
    case("override of an unknown key", f"{GEN} --set decoder.guidance=2", 2, "unknown key 'decoder.guidance' (did you mean 'guidance_scale'?)", slow=True),
    case("override of a missing upsampler", f"{GEN} --set upsamplers.3.sampler.steps=2", 2, "upsamplers has 1 entry, so upsamplers.3 does not exist", slow=True),
    case("override to nan guidance", f"{GEN} --set decoder.guidance_scale=.nan", 2, "decoder.guidance_scale", slow=True),
    case("override to infinite guidance", f"{GEN} --set prior.guidance_scale=.inf", 2, "prior.guidance_scale: must be a finite number", slow=True),
    case("unknown sampler", f"{GEN} --decoder-sampler nosuch", 2, "nosuch", slow=True),
    # ---- generate: the sampling budget (needs the model's output size) --------------------------
    case("a hundred thousand images", f"{GEN} -n 100000", 2, "1 prompt x 100000 images of 64x64 is 409,600,000 pixels (4.9 GB of output), over the sampling budget"),
    case("budget below one image", f"{GEN} --max-pixels 100", 2, "over the sampling budget of 100 pixels (0 such images)", slow=True),
    case("budget from the environment", f"{GEN} -n 3", 2, "over the sampling budget of 5,000 pixels", env={"UNCLIP_MAX_PIXELS": "5000"}, slow=True),
    # ---- generate: a sample that overflows is an error naming the stage, and no file --------
    # ---- steps a later stage cannot take: refused before the first stage runs ------------------
    case("upsampler steps beyond its start level", f"{GEN} --upsampler-steps 500", 2, "upsampler start_level 0.15 leaves 151 timesteps for 500 sampler steps; raise start_level or lower the steps", slow=True),
    case("vary with upsampler steps beyond its start level", "vary {in}/image.png --set upsamplers.0.sampler.steps=500 -o {out}/v.png", 2, "leaves 151 timesteps for 500 sampler steps", slow=True),
    case("prior guidance that overflows", f"{GEN} --set prior.guidance_scale=1e38 --prior-steps 2 --decoder-steps 2 --upsampler-steps 1 --no-progress --device cpu", 2, "the prior produced 128 non-finite values (NaN or infinity) out of 128; nothing was written", slow=True),
    # ---- config show: the same checks as building ----------------------------------------------
    case("list index past the end", f"{TINY} upsamplers.5.steps=3", 2, "override 'upsamplers.5.steps=3': upsamplers has 1 entry, so upsamplers.5 does not exist (indices: 0 to 0)"),
    case("list index not a number", f"{TINY} decoder.channel_mults.first=3", 2, "decoder.channel_mults.first does not exist (indices: 0 to 1)"),
    case("dimension clash", f"{TINY} prior.embed_dim=12", 2, "dimension clash: encoder 'open_clip' produces embed_dim=64 but prior 'diffusion_prior' is configured with embed_dim=12"),
    case("steps beyond the schedule", f"{TINY} prior.sampler.steps=5000", 2, "prior.sampler.steps=5000 exceeds prior.timesteps=100"),
    case("upsampler steps beyond its schedule", f"{TINY} upsamplers.0.sampler.steps=5000", 2, "upsamplers.0: the upsampler's sampler asks for 5000 steps but its schedule has only"),
    case("upsampler from the wrong size", f"{TINY} upsamplers.0.from_size=16", 2, "set upsamplers.0.from_size=32"),
    case("infinite guidance in the graph", f"{TINY} decoder.guidance_scale=.inf", 2, "decoder.guidance_scale: must be a finite number, got inf"),
    case("nan guidance in the graph", f"{TINY} decoder.guidance_scale=.nan", 2, "decoder.guidance_scale"),
    case("infinite learning rate", f"{TINY} train.clip.lr=.inf", 2, "train.clip.lr: must be a finite number, got inf"),
    case("nan sampler eta", f"{TINY} decoder.sampler.eta=.nan", 2, "decoder.sampler.eta"),
    case("seed not a number", f"{TINY} seed=abc", 2, "seed: must be a whole number from 0 to 2^64-1, got 'abc'"),
    case("negative seed in the graph", f"{TINY} seed=-3", 2, "seed: must be a whole number"),
    case("zero steps in the graph", f"{TINY} decoder.sampler.steps=0", 2, "decoder.sampler.steps: Input should be greater than or equal to 1"),
    case("guidance interval backwards", f"{TINY} decoder.guidance_interval=[0.9,0.1]", 2, "guidance_interval must be [low, high] with 0 <= low <= high <= 1, got [0.9, 0.1]"),
    case("caption guidance without the image", f"{TINY} decoder.caption_guidance_scale=2 decoder.condition_on_image=false", 2, "caption_guidance_scale guides the caption on top of z_i"),
    case("a million prior draws", f"{TINY} prior.samples_per_prompt=1000000", 2, "prior.samples_per_prompt: Input should be less than or equal to 16"),
    case("unknown key", f"{TINY} decoder.nosuch=1", 2, "unknown key 'decoder.nosuch'"),
    case("unknown section", f"{TINY} priors.width=3", 2, "unknown top-level key 'priors' (did you mean 'prior'?)"),
    case("unknown component type", f"{TINY} prior.type=nosuch", 2, "nosuch"),
    case("config override without =", f"{TINY} prior.width", 2, "override 'prior.width' must look like key=value"),
    case("override value not YAML", f"{TINY} prior.width=[1", 2, "value is not valid YAML"),
    case("config file missing", "config show --config {in}/nothing.yaml", 2, "not found"),
    case("config file not YAML", "config show --config {in}/broken.yaml", 2, "is not valid YAML"),
    case("config that is a list", "config show --config {in}/list.yaml", 2, "a graph must be a YAML mapping"),
    # ---- embed --------------------------------------------------------------------------------
    case("embed with an untrained encoder", "embed --config {in}/graph.yaml --out {out}/emb", 2, "the encoder 'open_clip' is untrained"),
    case("embed into a file", "embed --config {in}/graph.yaml --out {in}/notes.txt --allow-untrained-encoder", 2, "is a file, not a folder"),
    case("embed with zero shard size", "embed --config {in}/graph.yaml --out {out}/emb --shard-size 0", 2, "--shard-size must be at least 1"),
    case("embed on a device that does not exist", "embed --config {in}/graph.yaml --out {out}/emb --allow-untrained-encoder --device tpu:9", 2, "--device 'tpu:9' is not a device"),
    case("embed without data", "embed --config {in}/nodata.yaml --out {out}/emb", 2, "has no data: section to embed"),
    # ---- data export ----------------------------------------------------------------------------
    case("export nothing named", "data export --out {out}/shards", 2, "say which data to export"),
    case("export with zero shard size", "data export --data shapes --out {out}/shards --shard-size 0", 2, "--shard-size must be at least 1"),
    case("export into a file", "data export --data shapes --out {in}/notes.txt", 2, "--out {in}/notes.txt is a file, not a folder"),
    case("export of an unknown dataset", "data export --data nosuch --out {out}/shards", 2, "nosuch"),
    case("export embeddings of an untrained encoder", "data export --config {in}/graph.yaml --out {out}/shards --embeddings", 2,
         "the encoder 'open_clip' is untrained"),
    # ---- editing commands (each loads the model before reading its inputs) ---------------------
    case("vary a missing image", "vary {in}/nothing.png -o {out}/v.png", 2, "image file {in}/nothing.png does not exist", slow=True),
    case("vary a file that is no image", "vary {in}/corrupt.png -o {out}/v.png", 2, "is not a readable image", slow=True),
    case("vary zero times", "vary {in}/image.png -n 0 -o {out}/v.png", 2, "n: Input should be greater than or equal to 1", slow=True),
    case("vary too many times", "vary {in}/image.png -n 100000 -o {out}/v.png", 2, "1 prompt x 100000 images of 64x64 is 409,600,000 pixels", slow=True),
    case("vary with infinite eta", "vary {in}/image.png --eta inf -o {out}/v.png", 2, "variations.eta: must be a finite number", slow=True),
    case("vary with nan eta", "vary {in}/image.png --eta nan -o {out}/v.png", 2, "eta", slow=True),
    case("vary with one DDIM step", "vary {in}/image.png --ddim-steps 1 -o {out}/v.png", 2, "variations.ddim_steps: Input should be greater than or equal to 2 (got 1)"),
    case("vary with an override that is no key=value", "vary {in}/image.png --set decoder -o {out}/v.png", 2, "override 'decoder' must look like key=value"),
    case("vary with an unknown override", "vary {in}/image.png --set decoder.nope=1 -o {out}/v.png", 2, "unknown key 'decoder.nope'", slow=True),
    case("text diff beyond theta 1", "textdiff {in}/image.png --from a --to b --max-theta 2 -o {out}/t.png", 2, "max_theta", slow=True),
    case("interpolate one image", "interpolate {in}/image.png -o {out}/i.png", 2, "give two images (got 1)", slow=True),
    case("inpaint with a uniform grey mask", "inpaint {in}/image.png a~ball --mask {in}/grey.png -o {out}/p.png", 2, "is one uniform grey (level 100 of 255)"),
    case("inpaint with a black mask", "inpaint {in}/image.png a~ball --mask {in}/black.png -o {out}/p.png", 2, "all black: nothing to regenerate", slow=True),
    case("inpaint with a mask of another shape", "inpaint {in}/image.png a~ball --mask {in}/wide.png -o {out}/p.png", 2, "a different shape", slow=True),
    case("outpaint by a hundred thousand pixels", "outpaint {in}/image.png a~field --pad 100000 -o {out}/o.png", 2, "the padded canvas of this 32x32 image is 200032x200032: 40,012,801,024 pixels"),
    case("outpaint by nothing", "outpaint {in}/image.png a~field --pad 0 -o {out}/o.png", 2, "nothing to outpaint", slow=True),
    case("outpaint by a negative pad", "outpaint {in}/image.png a~field --pad -4 -o {out}/o.png", 2, "pad: Input should be greater than or equal to 0", slow=True),
    # ---- the command line itself ----------------------------------------------------------------
    case("no prompt", "generate -o {out}/x.png", 2, "the following arguments are required: PROMPT"),
    case("config show without a config", "config show prior.width=3", 2, "the following arguments are required: --config"),
    case("train an unknown stage", "train painter --config {in}/graph.yaml", 2, "invalid choice: 'painter'"),
    case("train with an infinite learning rate", "train clip --config {in}/graph.yaml train.clip.lr=.inf", 2, "train.clip.lr: must be a finite number, got inf"),
    case("train with a word for max_steps", "train prior --config {in}/graph.yaml trainer.max_steps=abc", 2, "trainer.max_steps: lightning.Trainer takes int, got 'abc'"),
    case("inpaint without a mask", "inpaint {in}/image.png a~ball -o {out}/p.png", 2, "the following arguments are required: --mask"),
    case("vary without an output", "vary {in}/image.png", 2, "the following arguments are required: -o/--out"),
    case("vary onto its own source", "vary {in}/image.png -o {in}/image.png", 2, "is also an input"),
    case("inpaint onto its mask", "inpaint {in}/image.png x --mask {in}/grey.png -o {in}/grey.png", 2, "is also an input"),
    case("interpolate with a gif in a missing folder", "interpolate {in}/image.png {in}/image.png -o {out}/i.png --gif {out}/none/i.gif", 2, "folder {out}/none does not exist"),
    case("outpaint by a word", "outpaint {in}/image.png a~field --pad wide -o {out}/o.png", 2, "invalid int value: 'wide'"),
    case("unknown command", "paint x", 2, "invalid choice: 'paint'"),
    case("unknown option", "generate x --colour red", 2, "unrecognized arguments"),
]
