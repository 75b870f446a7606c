"""In the kernels of a LaTeX build (book/_ext/paper.py runs this file when each starts): no text of a figure is set
under FLOOR points on paper.

The LaTeX output shrinks a figure wider than PRINT_WIDTH to fit it, and its text with it: a 12-inch figure's 10 pt
labels would print at 5.5 pt. When a figure is written as PDF, each text of it (titles, labels, tick labels, legends,
notes) that would print smaller than FLOOR is enlarged for that PDF alone, the figure's layout is worked out again
(constrained layout does it itself; a figure laid out by tight_layout gets it again), and afterwards every size is put
back, so the PNG the HTML shows is unchanged. Nothing here is a lesson's business; the cells stay as they are.
"""

PRINT_WIDTH = 6.6   # inches: the widest a figure prints (\mgptfigurewidth in _config.yml's preamble)
FLOOR = 7.0         # points: the smallest text on paper


def enlarge(figure, floor=FLOOR, width=PRINT_WIDTH):
    """Enlarge the figure's texts that would print under floor; the function that puts them back."""
    from matplotlib.text import Text
    scale = min(1.0, width / figure.get_figwidth())
    least = floor / scale
    undo = []
    for axes in figure.get_axes():
        for name, axis in (('x', axes.xaxis), ('y', axes.yaxis)):
            for which in ('major', 'minor'):
                labels = axis.get_ticklabels(which=which)
                if labels and labels[0].get_fontsize() < least:
                    size = labels[0].get_fontsize()
                    axes.tick_params(axis=name, which=which, labelsize=least)
                    undo.append(lambda axes=axes, name=name, which=which, size=size:
                                axes.tick_params(axis=name, which=which, labelsize=size))
    for text in figure.findobj(lambda artist: isinstance(artist, Text)):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < least:
            size = text.get_fontsize()
            text.set_fontsize(least)
            undo.append(lambda text=text, size=size: text.set_fontsize(size))

    def restore():
        for step in reversed(undo):
            step()
    return restore, bool(undo)


def install():
    """Make every PDF a figure is written as (the inline backend's, for the LaTeX output) keep to the floor."""
    import warnings

    from matplotlib.backend_bases import FigureCanvasBase
    original = FigureCanvasBase.print_figure
    if getattr(original, 'paper_floor', False):
        return

    def print_figure(self, filename, *args, format=None, **kwargs):
        if format != 'pdf':
            return original(self, filename, *args, format=format, **kwargs)
        figure = self.figure
        restore, changed = enlarge(figure)
        params = {k: getattr(figure.subplotpars, k) for k in ('left', 'right', 'bottom', 'top', 'wspace', 'hspace')}
        again = changed and figure.get_layout_engine() is None and getattr(figure, 'paper_tight', False)
        try:
            if again:
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    figure.tight_layout()
            return original(self, filename, *args, format=format, **kwargs)
        finally:
            restore()
            if again:   # the PNG keeps the layout the cell made
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    figure.subplots_adjust(**params)

    print_figure.paper_floor = True
    FigureCanvasBase.print_figure = print_figure

    # A figure laid out by tight_layout is marked, so that its PDF is laid out again with the larger text.
    from matplotlib.figure import Figure
    tight = Figure.tight_layout
    if not getattr(tight, 'paper_floor', False):
        def tight_layout(self, *args, **kwargs):
            self.paper_tight = True
            return tight(self, *args, **kwargs)
        tight_layout.paper_floor = True
        Figure.tight_layout = tight_layout
