"""Draft speed: DeepCache-style reuse of the UNet's deep features between denoising steps (Ma et al., 2023).

Adjacent denoising steps change the UNet's deep features very little. The first ``warmup`` steps, the last ``tail``
steps and every ``interval``-th step between run the whole UNet and keep the hidden state that enters the UNet's very last layer (the last
resnet, and its attention where it has one, of the last up block). The steps between run only that layer: the
time embedding, ``conv_in``, the kept hidden state joined with the fresh ``conv_in`` skip connection (plus a
ControlNet's residual for it), the last layer and ``conv_out`` -- DeepCache's shallowest branch. Everything else of
the UNet (every down block, the mid block, every other up layer) is skipped on those steps; at SD v1.5's size
that is nearly all of its work.

Written here rather than taken from the `DeepCache` package (0.1.1, December 2023): that package runs on this
diffusers, but it ships forks of diffusers' SD, SDXL and SVD pipelines and UNets, has no warm-up (see
WARMUP_FRACTION) and keeps its state on a helper bound to one pipeline, while SD Studio's pipelines share one UNet
between views. This version replaces the UNet's ``forward`` for the length of a pipeline call only
(``with DeepCache(unet):``): full steps are diffusers' own forward (ControlNet residuals, attention processors,
accelerate's hooks included), and the module is exactly as before once the call ends.

Deterministic: which steps are full depends on the step count only, so a draft re-run gives the same pixels.
"""
from __future__ import annotations

# Measured on the trained embedded model, draft against full on the same seed (mean CIEDE2000 / SSIM), Euler
# ancestral: the first steps lay out the picture (reusing theirs turned a grey backdrop black at 512: 33.7 / 0.48),
# and the last ones remove the remaining noise (without them a draft is visibly grainy: 8.4 / 0.86 at 256, 20
# steps). A tenth of the steps whole at each end and a full pass every 4th step between: 1.0 / 0.99 at 512, 30
# steps; 4.4 / 0.93 at 256, 20 steps (every 3rd: 3.2 / 0.97, for about a tenth less speed).
INTERVAL = 4
WARMUP_FRACTION = 0.1
TAIL_FRACTION = 0.1


class DeepCache:
    @classmethod
    def for_steps(cls, unet, steps: int, scheduler) -> "DeepCache":
        """SD Studio's draft policy for a call of ``steps`` denoising steps on ``scheduler``'s timesteps."""
        share = lambda fraction: max(1, round(steps * fraction))  # noqa: E731
        return cls(unet, INTERVAL, warmup=share(WARMUP_FRACTION), tail=share(TAIL_FRACTION), scheduler=scheduler)

    def __init__(self, unet, interval: int = INTERVAL, *, warmup: int = 0, tail: int = 0, scheduler=None):
        if interval < 1:
            raise ValueError("The cache interval is at least 1 (1 = no caching).")
        self.unet = getattr(unet, "_orig_mod", unet)  # a torch.compile'd UNet: its eager module
        self.interval, self.warmup, self.tail, self.scheduler = interval, warmup, tail, scheduler
        last = self.unet.up_blocks[-1]
        self.last_resnet = last.resnets[-1]
        attentions = getattr(last, "attentions", None)
        self.last_attention = attentions[-1] if attentions else None
        # Only SD's plain conditioning is handled on the shallow path (no class or added embeddings, no upsampler
        # after the last layer); any other UNet runs whole at every step.
        self.supported = (self.unet.class_embedding is None and self.unet.config.addition_embed_type is None
                          and getattr(last, "upsamplers", None) is None)
        self.calls = 0
        self.full_passes = 0
        self._hidden = None
        self._own_forward = None
        self._hooks: list = []

    def __enter__(self) -> "DeepCache":
        self.calls, self.full_passes, self._hidden = 0, 0, None
        if not self.supported:
            return self
        self._own_forward = self.unet.__dict__.get("forward")  # an instance-level forward (accelerate's hooks) is put back
        full = self._own_forward or self.unet.forward
        self._hooks.append(self.last_resnet.register_forward_pre_hook(self._keep_hidden))

        def forward(sample, timestep, encoder_hidden_states, *args, **kwargs):
            reuse = (self._hidden is not None and self.calls >= self.warmup and (self.calls - self.warmup) % self.interval != 0
                     and not self._in_tail(timestep))
            self.calls += 1
            if not reuse:
                self.full_passes += 1
                return full(sample, timestep, encoder_hidden_states, *args, **kwargs)
            return self._shallow(sample, timestep, encoder_hidden_states, **kwargs)

        self.unet.forward = forward
        return self

    def __exit__(self, *exc) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        if self.supported:
            if self._own_forward is None:
                self.unet.__dict__.pop("forward", None)
            else:
                self.unet.forward = self._own_forward
        self._hidden = None

    def _in_tail(self, timestep) -> bool:
        """Whether this is one of the last ``tail`` steps (the scheduler's last timesteps), which run whole."""
        if not self.tail or self.scheduler is None:
            return False
        import torch

        last = self.scheduler.timesteps[-self.tail:]
        value = timestep if torch.is_tensor(timestep) else torch.tensor(timestep)
        return bool((last.to(value.device) == value.reshape(-1)[0]).any())

    def _keep_hidden(self, module, args) -> None:
        joined = args[0]  # torch.cat([hidden, conv_in's skip connection], dim=1), as the up block joins them
        self._hidden = joined[:, : joined.shape[1] - self.unet.conv_in.out_channels]

    def _shallow(self, sample, timestep, encoder_hidden_states, *, timestep_cond=None, cross_attention_kwargs=None,
                 down_block_additional_residuals=None, return_dict: bool = True, **ignored):
        import torch
        from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput

        unet = self.unet
        emb = unet.time_embedding(unet.get_time_embed(sample=sample, timestep=timestep), timestep_cond)
        skip = unet.conv_in(sample)
        if down_block_additional_residuals is not None:  # a ControlNet's residual for conv_in's output
            skip = skip + down_block_additional_residuals[0]
        hidden = self.last_resnet(torch.cat([self._hidden, skip], dim=1), emb)
        if self.last_attention is not None:
            hidden = self.last_attention(hidden, encoder_hidden_states=encoder_hidden_states,
                                         cross_attention_kwargs=cross_attention_kwargs, return_dict=False)[0]
        if unet.conv_norm_out is not None:
            hidden = unet.conv_act(unet.conv_norm_out(hidden))
        out = unet.conv_out(hidden)
        return UNet2DConditionOutput(sample=out) if return_dict else (out,)
