"""ImagePropertiesWeigher: pack (or spread) instances by shared image properties."""

from __future__ import annotations

from collections import Counter

import numpy as np

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.columns import column
from corral.scheduler.option_lists import parse_options
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher


class ImagePropertiesWeigher(HostWeigher):
    """Nova: for each image property (name, value) the request shares with the
    instances on a host, the number of those instances having it, times the
    property's weight in [filter_scheduler] image_props_weight_setting (every
    property weighs 1 when that is empty; unlisted ones 0). Values compare as
    text. Off (all 0) while the configured multiplier is 0, Nova's default.
    """

    name = "ImagePropertiesWeigher"
    multiplier_option = ("filter_scheduler", "image_props_weight_multiplier")
    aggregate_key = "image_props_weight_multiplier"

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        out = np.zeros(len(batch), dtype=np.float64)
        if self.configured_multiplier() == 0.0:
            return out
        setting = dict(parse_options(self.conf.filter_scheduler.image_props_weight_setting, float))
        requested = {(key, f"{value}") for key, value in spec.image.properties.items()}
        for row, instances in enumerate(column(batch, "instance_image_properties")):
            existing: Counter[tuple[str, str]] = Counter()
            for props in instances.values():
                existing.update({(key, str(value)) for key, value in props.items()})
            weight = 0.0
            for prop in requested & existing.keys():
                if setting:
                    weight += setting.get(prop[0], 0.0) * existing[prop]
                else:
                    weight += existing[prop]
            out[row] = weight
        return out
