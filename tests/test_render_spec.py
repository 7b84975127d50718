"""RenderSpec (issue 20.1): the one value a config's render options reach the
renderers through, and render_spec, the one place it is made."""

from dataclasses import fields

from optviz.input.config import RenderConfig, parse_config
from optviz.render.labels import figure_note, legend_heads
from optviz.render.spec import RenderSpec, render_spec

CONFIG = ("title: Spec\nsurface: wobbly\nsteps: 5\n"
          "optimizers: [{type: adam, lr: 0.25}, {type: nag, lr: 0.04}]\n"
          "noise: {kind: gaussian, sigma: 0.3, seed: 2}\n"
          "render: {size: [7, 5], dpi: 55, fps: 12, max_frames: 40, loss_panel: true,\n"
          "         view_box: domain, svg_text: paths, overlays: [gradient, momentum],\n"
          "         camera: {elev: 20, azim: -40, rotate: 3}}\n")


def test_the_specs_defaults_are_the_render_blocks_defaults():
    config = RenderConfig()
    shared = [f.name for f in fields(RenderSpec) if hasattr(config, f.name)]
    assert len(shared) >= 10
    for name in shared:
        ours, theirs = getattr(RenderSpec(), name), getattr(config, name)
        if isinstance(theirs, (list, tuple)):
            ours, theirs = tuple(ours), tuple(theirs)
        assert ours == theirs, name

def test_render_spec_carries_every_option_the_config_sets():
    cfg = parse_config(CONFIG, "spec.yaml")
    spec = render_spec(cfg)
    assert spec.title == "Spec"
    assert spec.size == (7, 5) and spec.dpi == 55
    assert spec.fps == 12 and spec.max_frames == 40
    assert spec.loss_panel is True and spec.view == "2d"
    assert spec.view_box == "domain" and spec.svg_text == "paths"
    assert spec.overlays == ("gradient", "momentum")
    assert spec.camera == (20, -40, 3)
    assert spec.entries == tuple(legend_heads(cfg))
    assert spec.note == figure_note(cfg) and "0.3" in spec.note
    assert spec.overlay_lrs == (0.25, 0.04)
    # NAG keeps its moment in parameter units: divided by its lr into gradient units
    assert spec.moment_scale == (1.0, 1.0 / 0.04)
    hash(spec)  # frozen and made of tuples: usable as a key
