"""The lint rules: codes, names, levels and their documentation (ruff's four sections)."""

from __future__ import annotations

from operator import attrgetter

from ..records import Record


class Rule(Record):
    code: str
    name: str
    summary: str
    what: str
    why: str
    example: str
    instead: str
    default: bool = True
    level: str = "warning"

    _fields = ("code", "name", "summary", "what", "why", "example", "instead", "default", "level")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        code: str,
        name: str,
        summary: str,
        what: str,
        why: str,
        example: str,
        instead: str,
        default: bool = True,
        level: str = "warning",
    ) -> None:
        self.code = code
        self.name = name
        self.summary = summary
        self.what = what
        self.why = why
        self.example = example
        self.instead = instead
        self.default = default
        self.level = level

    def doc(self) -> str:
        """The rule's documentation in Markdown (used by --explain, SARIF and the README)."""
        return (
            f"## {self.code} {self.name}\n\n{self.summary}\n\n"
            f"**What it does.** {self.what}\n\n**Why is this bad?** {self.why}\n\n"
            f"**Example**\n\n```python\n{self.example}\n```\n\n"
            f"**Use instead**\n\n```python\n{self.instead}\n```\n"
            + (
                ""
                if self.default
                else f"\n*Off by default: enable with `--extend-select {self.code}`.*\n"
            )
        )


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule(
            "CBD101",
            "kernel-not-divisible-by-stride",
            "Transposed convolution whose kernel size is not divisible by its stride.",
            "Flags a transposed convolution (PyTorch `ConvTranspose*d`, Keras "
            "`Conv*DTranspose`, Flax `ConvTranspose`, functional forms) whose kernel size is "
            "not a multiple of the stride on some axis.",
            "Output pixels then receive uneven numbers of input taps: `ceil(k/s)` for some "
            "phases and `floor(k/s)` for others. The unevenness multiplies across axes and "
            "compounds across stacked layers, so the layer paints a checkerboard, visible "
            "even with random untrained weights (Odena et al., Distill 2016).",
            "nn.ConvTranspose2d(256, 128, kernel_size=3, stride=2, padding=1, output_padding=1)",
            "nn.ConvTranspose2d(256, 128, kernel_size=4, stride=2, padding=1)\n"
            "# or resize-convolution:\n"
            "nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'),\n"
            "              nn.Conv2d(256, 128, kernel_size=3, padding=1))",
        ),
        Rule(
            "CBD102",
            "kernel-smaller-than-stride",
            "Transposed convolution whose kernel is smaller than its stride.",
            "Flags a transposed convolution with kernel size below the stride on some axis.",
            "Some output rows or columns receive no input at all (holes): a grid of zeros "
            "plus the bias, which training has to paint over.",
            "nn.ConvTranspose2d(64, 32, kernel_size=1, stride=2)",
            "nn.ConvTranspose2d(64, 32, kernel_size=2, stride=2)",
        ),
        Rule(
            "CBD103",
            "dilation-shares-factor-with-stride",
            "Transposed convolution whose dilation shares a factor with its stride.",
            "Flags a transposed convolution whose dilation and stride have a common divisor "
            "greater than one.",
            "The taps then land only on every gcd(d, s)-th phase: whole rows and columns of "
            "the output receive no input (holes), whatever the kernel size.",
            "nn.ConvTranspose2d(64, 32, kernel_size=3, stride=2, dilation=2)",
            "nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, dilation=1)",
        ),
        Rule(
            "CBD104",
            "uneven-stacked-upsamplers",
            "Stacked transposed convolutions whose combined overlap is uneven.",
            "Flags an `nn.Sequential` / Keras `Sequential` / Flax `Sequential` holding two or "
            "more transposed convolutions whose combined path-count map (computed exactly "
            "with cbdiag's overlap engine) is uneven, with the combined ratio.",
            "Unevenness compounds across layers: two stacked k3 s2 layers give a 1-D pattern "
            "[3, 2, 3, 1] (2-D max/min 9), n layers give Fibonacci ratios; artifacts then "
            "appear at several scales.",
            "nn.Sequential(\n    nn.ConvTranspose2d(64, 32, 3, 2, 1, 1), nn.ReLU(),\n"
            "    nn.ConvTranspose2d(32, 16, 3, 2, 1, 1),\n)",
            "nn.Sequential(\n    nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),\n"
            "    nn.ConvTranspose2d(32, 16, 4, 2, 1),\n)",
        ),
        Rule(
            "CBD105",
            "strided-conv-gradient-checkerboard",
            "Strided convolution whose kernel is not divisible by its stride (gradient).",
            "Flags `nn.Conv*d` / `Conv*D` with stride above one whose kernel size is not a "
            "multiple of the stride.",
            "The backward pass of a strided convolution is a transposed convolution, so its "
            "input gradient has the same uneven overlap: discriminators and classifiers then "
            "push checkerboards into generators and adversarial examples.",
            "nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1)",
            "nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1)",
            default=False,
        ),
        Rule(
            "CBD106",
            "pixel-shuffle-needs-icnr",
            "Pixel shuffle (sub-pixel convolution): initialise the convolution with ICNR.",
            "Flags `nn.PixelShuffle`, `F.pixel_shuffle`, `tf.nn.depth_to_space` (and pixel-"
            "shuffle classes of the same file) applied to the output of a convolution that no "
            "ICNR or zero initialisation touched: right after it in a container, or on its "
            "output (`self.shuffle(self.conv(x))`, `F.pixel_shuffle(x, 2)` after "
            "`x = self.conv(x)`). A shuffle never applied, or applied to something else "
            "(`repeat_interleave`), is clean.",
            "Sub-pixel convolution has even overlap, yet with independently initialised "
            "weights per phase it paints a checkerboard from the first step; ICNR (copying "
            "one sub-kernel to every phase, bias included) removes it at initialisation.",
            "nn.Sequential(nn.Conv2d(64, 64 * 4, 3, padding=1), nn.PixelShuffle(2))",
            "conv = nn.Conv2d(64, 64 * 4, 3, padding=1)\n"
            "icnr_(conv.weight, scale=2)  # e.g. fastai's icnr_init; zero or repeat the bias\n"
            "nn.Sequential(conv, nn.PixelShuffle(2))",
            default=False,
        ),
        Rule(
            "CBD901",
            "syntax-error",
            "A file that does not parse.",
            "Reports a Python file that the standard library's `ast` cannot parse: every file "
            "named on the command line, and a file found in a directory when its text names a "
            "layer or the analysis needs it (it calls a function that holds a layer call, or "
            "an import followed leads to it). A file found in a directory whose text names no "
            "layer and that nothing reaches holds nothing to check and is not parsed. Within "
            "a file, the body of a function that names no layer (and defines no function or "
            "class) is parsed only when the analysis reads it: a syntax error there is "
            "reported when it is read, and left to the compiler when nothing reads it.",
            "cbdiag cannot check what it cannot read; the rest of the run goes on.",
            "def broken(:",
            "def fixed():\n    ...",
            level="error",
        ),
        Rule(
            "CBD902",
            "unreadable-file",
            "A file that cannot be read or decoded.",
            "Reports a path that cannot be opened or is not valid UTF-8 (or its declared "
            "encoding).",
            "cbdiag cannot check what it cannot read; the rest of the run goes on.",
            "# a file saved in an unknown encoding",
            "# save it as UTF-8",
            level="error",
        ),
    )
}

DEFAULT_SELECT = tuple(code for code, rule in RULES.items() if rule.default)


def rules_markdown() -> str:
    """Every rule's documentation, in code order (the README's rule section is this text)."""
    return "\n".join(RULES[c].doc().replace("## ", "#### ", 1) for c in sorted(RULES))
