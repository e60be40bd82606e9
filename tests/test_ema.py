"""The EMA follows the weights the optimizer actually updates, even when the module replaces its
weight tensors as training starts (UNet stages switch to channels_last on GPUs)."""

import lightning as L
import torch
from torch import nn

from unclip_core.training.ema import EMA


class ChannelsLastAtFitStart(L.LightningModule):
    """A conv net that, like a UNet stage on a GPU, converts itself to channels_last at fit start."""

    def __init__(self) -> None:
        super().__init__()
        self.component = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.SiLU(), nn.Conv2d(8, 3, 3, padding=1))

    def on_fit_start(self) -> None:
        self.component.to(memory_format=torch.channels_last)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        return (self.component(x) - x.flip(-1)).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.component.parameters(), lr=0.5)


def test_ema_tracks_weights_replaced_at_fit_start():
    torch.manual_seed(0)
    module = ChannelsLastAtFitStart()
    start = {k: v.clone() for k, v in module.component.state_dict().items()}
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(16, 3, 8, 8)), batch_size=4)
    ema = EMA(0.5)
    trainer = L.Trainer(max_steps=12, callbacks=[ema], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, data)
    final = module.component.state_dict()
    for key, average in ema.shadow.items():
        moved, travelled = (average - start[key]).norm(), (final[key] - start[key]).norm()
        assert travelled > 0
        # With decay 0.5 the average sits close to the last weights, far from the start.
        assert moved > 0.5 * travelled, key
