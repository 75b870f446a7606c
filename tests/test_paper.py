"""The book on paper (book/_ext/paper.py), the parts that need no build: the web addresses of the title page, the
names the index lists, the kernels' figure settings, and the EPUB's spacing of function names (book/_ext/ebook.py).
The built PDF is checked in tests/test_book.py (test_the_pdf_reads_like_a_book)."""

import sys
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'book' / '_ext'))

import ebook  # noqa: E402  (book/_ext is not a package)
import paper  # noqa: E402


def config(url='', branch='main', baseurl=''):
    return SimpleNamespace(html_theme_options={'repository_url': url, 'repository_branch': branch},
                           html_baseurl=baseurl)


def test_the_title_page_prints_no_address_until_repository_url_is_set():
    assert paper.addresses(config()) == ('', '')
    assert paper.title_page_addresses(config()) == r'\newcommand\mgptaddresses{}'


def test_repository_url_gives_both_addresses_and_baseurl_overrides_the_books():
    assert paper.addresses(config('https://github.com/Someone/microgpt-book')) == (
        'https://someone.github.io/microgpt-book/', 'https://github.com/Someone/microgpt-book/blob/main/microgpt.py')
    book, program = paper.addresses(config('https://github.com/a/b.git', 'print', 'https://book.example.org/'))
    assert book == 'https://book.example.org/' and program == 'https://github.com/a/b/blob/print/microgpt.py'
    latex = paper.title_page_addresses(config('https://github.com/a/b'))
    assert r'\url{https://a.github.io/b/}' in latex and r'\url{https://github.com/a/b/blob/main/microgpt.py}' in latex


def test_the_index_lists_the_programs_functions_classes_methods_and_settings():
    names = paper.program_names(REPO)
    assert names['gpt'] == 'gpt()' and names['Value'] == 'Value' and names['backward'] == 'backward()'
    assert names['n_embd'] == 'n_embd' and '__init__' not in names


def test_a_latex_build_asks_its_kernels_for_pdf_figures_and_styled_lines():
    namespace = {'c': SimpleNamespace(InlineBackend=SimpleNamespace())}
    exec(paper.KERNEL_CONFIG, namespace)
    backend = namespace['c'].InlineBackend
    assert backend.figure_formats == {'png', 'pdf'}
    styles = [entry['linestyle'] for entry in backend.rc['axes.prop_cycle']]
    assert styles[:4] == ['-', '--', '-.', ':']


def test_a_function_name_keeps_the_thin_space_before_its_argument():
    markup = ebook.mathml(None, None, r'-\log p', 'inline')
    assert '<mi>log</mi><mo>&#x02061;</mo><mspace width="0.1667em"/><mi>p</mi>' in markup
    assert '<mi>log</mi><mo stretchy="false">' in ebook.mathml(None, None, r'\log(x)', 'inline')


def test_no_text_of_a_figure_prints_under_7_pt_and_the_png_keeps_its_sizes():
    """paper_kernel.enlarge: in a figure twice as wide as the page, 6 pt and 10 pt texts would print at 3.3 and 5.5 pt;
    they are set to 7 pt at print size for the PDF, and put back afterwards."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import paper_kernel
    figure, axes = plt.subplots(figsize=(2 * paper_kernel.PRINT_WIDTH, 3))
    axes.plot([1, 2], label='a line')
    note = axes.text(0, 1, 'note', fontsize=6)
    axes.legend(fontsize=20)
    figure.canvas.draw()
    restore, changed = paper_kernel.enlarge(figure)
    assert changed and note.get_fontsize() == 14.0
    assert axes.xaxis.get_ticklabels()[0].get_fontsize() == 14.0
    assert axes.get_legend().get_texts()[0].get_fontsize() == 20   # large enough already
    restore()
    assert note.get_fontsize() == 6 and axes.xaxis.get_ticklabels()[0].get_fontsize() == 10
    plt.close(figure)
