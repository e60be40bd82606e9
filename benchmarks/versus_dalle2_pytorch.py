"""unclip against the reference implementation, dalle2-pytorch, at matched model sizes, in one run.

    pip install dalle2-pytorch        # in a separate environment: it pins an older open_clip
    python benchmarks/versus_dalle2_pytorch.py --device cuda --out benchmarks/results/versus_dalle2_pytorch.json

Both sides get the same inputs, batch, number of sampling steps, guidance scale and precision:
- diffusion prior: a causal transformer of the same width, depth and heads over caption tokens,
  z_t, timestep, noised z_i and a query (dalle2-pytorch's DiffusionPriorNetwork); train step =
  loss + backward + AdamW; sampling = DDIM with `--prior-steps` steps, two samples per prompt.
- decoder: a UNet of the same base width, channel multipliers and residual blocks per level,
  conditioned on z_i and caption tokens (dalle2-pytorch's Unet + Decoder with learned variance
  off); sampling = DDIM with `--decoder-steps` steps.
Guidance scales above 1 show the cost of classifier-free guidance: unclip batches both passes
into one forward call. Parameter counts are printed so the match can be checked.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from unclip_core.interfaces import EncoderSpec, TextEncoding
from unclip_core.testing import build_component

from common import params_m, print_table, setup_device, timed, write_json  # benchmarks/common.py


def caption_batch(spec: EncoderSpec, batch: int, device: torch.device) -> TextEncoding:
    z_t = F.normalize(torch.randn(batch, spec.embed_dim, device=device), dim=-1)
    tokens = torch.randn(batch, spec.context_length, spec.text_width, device=device)
    lengths = torch.randint(4, spec.context_length, (batch,), device=device)
    mask = torch.arange(spec.context_length, device=device)[None] < lengths[:, None]
    return TextEncoding(z_t, tokens * mask[..., None], mask)


def measure(model, train_step, sample, device, autocast, args) -> tuple[float, float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        with autocast():
            loss = train_step()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def draw():
        with torch.no_grad(), autocast():
            sample()

    model.train()
    train = timed(step, device, args.iters, args.warmup)
    model.eval()
    return train, timed(draw, device, 1, 1)


def prior_rows(args, device, autocast) -> list[dict]:
    from dalle2_pytorch import DiffusionPrior as ReferencePrior
    from dalle2_pytorch import DiffusionPriorNetwork

    dim, batch = args.prior_width, args.batch
    spec = EncoderSpec(embed_dim=dim, text_width=dim, context_length=args.context_length, image_size=224)
    text = caption_batch(spec, batch, device)
    z_i = F.normalize(torch.randn(batch, dim, device=device), dim=-1)

    ours = build_component("prior", {
        "type": "diffusion_prior", "width": dim, "depth": args.prior_depth, "heads": args.prior_heads,
        "timesteps": 1000, "samples_per_prompt": 2, "guidance_scale": args.guidance,
        "sampler": {"type": "ddim", "steps": args.prior_steps},
    }, spec=spec).to(device)
    ours.fit_statistics(z_i, text.embedding)

    network = DiffusionPriorNetwork(
        dim=dim, depth=args.prior_depth, heads=args.prior_heads, dim_head=dim // args.prior_heads,
        num_timesteps=1000, max_text_len=args.context_length,
    )
    reference = ReferencePrior(
        network, image_embed_dim=dim, timesteps=1000, cond_drop_prob=0.1, condition_on_text_encodings=True,
    ).to(device)
    text_cond = {"text_embed": text.embedding, "text_encodings": text.tokens}

    def reference_sample():
        repeated = {k: v.repeat_interleave(2, 0) for k, v in text_cond.items()}
        embeds = reference.p_sample_loop((batch * 2, dim), text_cond=repeated, cond_scale=args.guidance,
                                         timesteps=args.prior_steps)
        sims = (F.normalize(embeds, dim=-1) * repeated["text_embed"]).sum(-1).view(batch, 2)
        return embeds.view(batch, 2, dim)[torch.arange(batch, device=device), sims.argmax(-1)]

    rows = []
    for name, model, step, sample in [
        ("unclip", ours, lambda: ours.loss(z_i, text), lambda: ours.sample(text)),
        ("dalle2-pytorch", reference, lambda: reference(text_embed=text.embedding, image_embed=z_i,
                                                        text_encodings=text.tokens), reference_sample),
    ]:
        train, sampling = measure(model, step, sample, device, autocast, args)
        rows.append(row("prior", name, model, batch, train, sampling, args.prior_steps, args))
    return rows


def decoder_rows(args, device, autocast) -> list[dict]:
    from dalle2_pytorch import Decoder as ReferenceDecoder
    from dalle2_pytorch import Unet

    size, batch, width = args.image_size, args.batch, args.decoder_channels
    spec = EncoderSpec(embed_dim=args.prior_width, text_width=args.prior_width,
                       context_length=args.context_length, image_size=224)
    text = caption_batch(spec, batch, device)
    z_i = F.normalize(torch.randn(batch, spec.embed_dim, device=device), dim=-1)
    images = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    mults = [1, 2, 4][: max(1, min(3, (size // 8).bit_length() - 1))]

    ours = build_component("decoder", {
        "type": "unet_decoder", "image_size": size, "channels": width, "channel_mults": mults,
        "num_res_blocks": 2, "attention_resolutions": [size >> (len(mults) - 1)], "dropout": 0.0,
        "guidance_scale": args.guidance, "sampler": {"type": "ddim", "steps": args.decoder_steps},
    }, spec=spec).to(device)

    unet = Unet(
        dim=width, image_embed_dim=spec.embed_dim, text_embed_dim=spec.text_width, cond_dim=width,
        channels=3, dim_mults=tuple(mults), num_resnet_blocks=2, cond_on_text_encodings=True,
        max_text_len=args.context_length, attn_heads=4, attn_dim_head=width // 4,
    )
    reference = ReferenceDecoder(
        unet, image_size=size, timesteps=1000, learned_variance=False, auto_normalize_img=False,
        image_cond_drop_prob=0.1, text_cond_drop_prob=0.5,
    ).to(device)

    rows = []
    for name, model, step, sample in [
        ("unclip", ours, lambda: ours.loss(images, z_i, text), lambda: ours.sample(z_i, text)),
        ("dalle2-pytorch", reference,
         lambda: reference(images, image_embed=z_i, text_encodings=text.tokens),
         lambda: reference.sample(image_embed=z_i, text_encodings=text.tokens, cond_scale=args.guidance)),
    ]:
        if name == "dalle2-pytorch":
            reference.sample_timesteps = (args.decoder_steps,)
        train, sampling = measure(model, step, sample, device, autocast, args)
        rows.append(row(f"decoder {size}px", name, model, batch, train, sampling, args.decoder_steps, args))
    return rows


def row(stage, name, model, batch, train, sampling, steps, args) -> dict:
    return {
        "stage": stage, "implementation": name, "params_m": params_m(model), "batch": batch,
        "train_items_per_s": round(batch / train, 2), "sample_steps": steps, "guidance": args.guidance,
        "sample_items_per_s": round(batch / sampling, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--context-length", type=int, default=77)
    parser.add_argument("--prior-width", type=int, default=512)
    parser.add_argument("--prior-depth", type=int, default=6)
    parser.add_argument("--prior-heads", type=int, default=8)
    parser.add_argument("--prior-steps", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--decoder-channels", type=int, default=128)
    parser.add_argument("--decoder-steps", type=int, default=50)
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--iters", type=int, default=20, help="timed train steps")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", choices=["prior", "decoder"], default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    device, autocast = setup_device(args.device)
    torch.manual_seed(0)
    rows = []
    if args.only in (None, "prior"):
        rows += prior_rows(args, device, autocast)
    if args.only in (None, "decoder"):
        rows += decoder_rows(args, device, autocast)
    print_table(rows)
    if args.out is not None:
        write_json(args.out, device, {k: v for k, v in vars(args).items() if k not in {"out", "device"}}, rows)


if __name__ == "__main__":
    main()
