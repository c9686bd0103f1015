"""Regenerate the PDF and DOCX files of the default corpus in docs_src/.

    python scripts/make_corpus.py                 # writes docs_src/black-death.pdf and
                                                  # docs_src/victoria-and-albert-museum.docx
    python scripts/make_corpus.py --verify PATH   # also checks every paragraph against
                                                  # the XQuAD/SQuAD JSON it was taken from

The paragraphs are verbatim Wikipedia text (CC BY-SA 4.0) as found in the English
XQuAD dev set; the headings, the page layout and the DOCX table are added here.
See docs_src/SOURCES.md for attribution. The output is byte-for-byte reproducible
(fixed dates), so regenerating does not change the files' hashes.
Needs fpdf2 (test extra) and python-docx (core dependency).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

# --- Black Death (PDF): pages of (section heading, paragraph) -----------------

BLACK_DEATH_TITLE = "Black Death"
BLACK_DEATH_PAGES: list[list[tuple[str, str]]] = [
    [
        ("Medical knowledge at the time",     (
        "Medical knowledge had stagnated during the Middle Ages. The most authoritative "
        "account at the time came from the medical faculty in Paris in a report to the "
        "king of France that blamed the heavens, in the form of a conjunction of three "
        "planets in 1345 that caused a \"great pestilence in the air\". This report became "
        "the first and most widely circulated of a series of plague tracts that sought to "
        "give advice to sufferers. That the plague was caused by bad air became the most "
        "widely accepted theory. Today, this is known as the Miasma theory. The word "
        "'plague' had no special significance at this time, and only the recurrence of "
        "outbreaks during the Middle Ages gave it the name that has become the medical "
        "term."
    )),
        ("Genetic evidence",     (
        "The study also found that there were two previously unknown but related clades "
        "(genetic branches) of the Y. pestis genome associated with medieval mass graves. "
        "These clades (which are thought to be extinct) were found to be ancestral to "
        "modern isolates of the modern Y. pestis strains Y. p. orientalis and Y. p. "
        "medievalis, suggesting the plague may have entered Europe in two waves. Surveys "
        "of plague pit remains in France and England indicate the first variant entered "
        "Europe through the port of Marseille around November 1347 and spread through "
        "France over the next two years, eventually reaching England in the spring of "
        "1349, where it spread through the country in three epidemics. Surveys of plague "
        "pit remains from the Dutch town of Bergen op Zoom showed the Y. pestis genotype "
        "responsible for the pandemic that spread through the Low Countries from 1350 "
        "differed from that found in Britain and France, implying Bergen op Zoom (and "
        "possibly other parts of the southern Netherlands) was not directly infected from "
        "England or France in 1349 and suggesting a second wave of plague, different from "
        "those in Britain and France, may have been carried to the Low Countries from "
        "Norway, the Hanseatic cities or another site."
    )),
    ],
    [
        ("Alternative explanations",     (
        "A variety of alternatives to the Y. pestis have been put forward. Twigg "
        "suggested that the cause was a form of anthrax, and Norman Cantor (2001) thought "
        "it may have been a combination of anthrax and other pandemics. Scott and Duncan "
        "have argued that the pandemic was a form of infectious disease that characterise "
        "as hemorrhagic plague similar to Ebola. Archaeologist Barney Sloane has argued "
        "that there is insufficient evidence of the extinction of a large number of rats "
        "in the archaeological record of the medieval waterfront in London and that the "
        "plague spread too quickly to support the thesis that the Y. pestis was spread "
        "from fleas on rats; he argues that transmission must have been person to person. "
        "However, no single alternative solution has achieved widespread acceptance. Many "
        "scholars arguing for the Y. pestis as the major agent of the pandemic suggest "
        "that its extent and symptoms can be explained by a combination of bubonic plague "
        "with other diseases, including typhus, smallpox and respiratory infections. In "
        "addition to the bubonic infection, others point to additional septicemic (a type "
        "of \"blood poisoning\") and pneumonic (an airborne plague that attacks the lungs "
        "before the rest of the body) forms of the plague, which lengthen the duration of "
        "outbreaks throughout the seasons and help account for its high mortality rate "
        "and additional recorded symptoms. In 2014, scientists with Public Health England "
        "announced the results of an examination of 25 bodies exhumed from the "
        "Clerkenwell area of London, as well as of wills registered in London during the "
        "period, which supported the pneumonic hypothesis."
    )),
    ],
    [
        ("Recurrences in Europe",     (
        "In 1466, perhaps 40,000 people died of the plague in Paris. During the 16th and "
        "17th centuries, the plague was present in Paris around 30 per cent of the time. "
        "The Black Death ravaged Europe for three years before it continued on into "
        "Russia, where the disease was present somewhere in the country 25 times between "
        "1350 to 1490. Plague epidemics ravaged London in 1563, 1593, 1603, 1625, 1636, "
        "and 1665, reducing its population by 10 to 30% during those years. Over 10% of "
        "Amsterdam's population died in 1623–25, and again in 1635–36, 1655, and 1664. "
        "Plague occurred in Venice 22 times between 1361 and 1528. The plague of 1576–77 "
        "killed 50,000 in Venice, almost a third of the population. Late outbreaks in "
        "central Europe included the Italian Plague of 1629–1631, which is associated "
        "with troop movements during the Thirty Years' War, and the Great Plague of "
        "Vienna in 1679. Over 60% of Norway's population died in 1348–50. The last plague "
        "outbreak ravaged Oslo in 1654."
    )),
        ("The Islamic world",     (
        "The Black Death ravaged much of the Islamic world. Plague was present in at "
        "least one location in the Islamic world virtually every year between 1500 and "
        "1850. Plague repeatedly struck the cities of North Africa. Algiers lost 30 to 50 "
        "thousand inhabitants to it in 1620–21, and again in 1654–57, 1665, 1691, and "
        "1740–42. Plague remained a major event in Ottoman society until the second "
        "quarter of the 19th century. Between 1701 and 1750, thirty-seven larger and "
        "smaller epidemics were recorded in Constantinople, and an additional thirty-one "
        "between 1751 and 1800. Baghdad has suffered severely from visitations of the "
        "plague, and sometimes two-thirds of its population has been wiped out."
    )),
    ],
]

# --- Victoria and Albert Museum (DOCX): (heading level, heading, paragraph) ---

VA_TITLE = "Victoria and Albert Museum"
VA_HISTORY =     (
        "The V&A has its origins in the Great Exhibition of 1851, with which Henry Cole, "
        "the museum's first director, was involved in planning; initially it was known as "
        "the Museum of Manufactures, first opening in May 1852 at Marlborough House, but "
        "by September had been transferred to Somerset House. At this stage the "
        "collections covered both applied art and science. Several of the exhibits from "
        "the Exhibition were purchased to form the nucleus of the collection. By February "
        "1854 discussions were underway to transfer the museum to the current site and it "
        "was renamed South Kensington Museum. In 1855 the German architect Gottfried "
        "Semper, at the request of Cole, produced a design for the museum, but it was "
        "rejected by the Board of Trade as too expensive. The site was occupied by "
        "Brompton Park House; this was extended including the first refreshment rooms "
        "opened in 1857, the museum being the first in the world to provide such a "
        "facility."
    )
VA_FAR_EAST =     (
        "The Far Eastern collections include more than 70,000 works of art from the "
        "countries of East Asia: China, Japan and Korea. The T. T. Tsui Gallery of "
        "Chinese art opened in 1991, displaying a representative collection of the V&As "
        "approximately 16,000 objects from China, dating from the 4th millennium BC to "
        "the present day. Though the majority of art works on display date from the Ming "
        "and Qing dynasties, there are exquisite examples of objects dating from the Tang "
        "dynasty and earlier periods. Notably, a metre-high bronze head of the Buddha "
        "dated to c.750 AD and one of the oldest items a 2,000-year-old jade horse head "
        "from a burial, other sculptures include life-size tomb guardians. Classic "
        "examples of Chinese manufacturing are displayed that include lacquer, silk, "
        "porcelain, jade and cloisonné enamel. Two large ancestor portraits of a husband "
        "and wife painted in watercolour on silk date from the 18th century. There is a "
        "unique Chinese lacquerware table, made in the imperial workshops during the "
        "reign of the Xuande Emperor in the Ming dynasty. Examples of clothing are also "
        "displayed. One of the largest objects is a bed from the mid-17th century. The "
        "work of contemporary Chinese designers is also displayed."
    )
VA_COSTUME =     (
        "The costume collection is the most comprehensive in Britain, containing over "
        "14,000 outfits plus accessories, mainly dating from 1600 to the present. Costume "
        "sketches, design notebooks, and other works on paper are typically held by the "
        "Word and Image department. Because everyday clothing from previous eras has not "
        "generally survived, the collection is dominated by fashionable clothes made for "
        "special occasions. One of the first significant gifts of costume came in 1913 "
        "when the V&A received the Talbot Hughes collection containing 1,442 costumes and "
        "items as a gift from Harrods following its display at the nearby department "
        "store."
    )
VA_INSTRUMENTS =     (
        "The Musical Instruments gallery closed 25 February 2010, a decision which was "
        "highly controversial. An online petition of over 5,100 names on the "
        "Parliamentary website led to Chris Smith asking Parliament about the future of "
        "the collection. The answer, from Bryan Davies was that the museum intended to "
        "preserve and care for the collection and keep it available to the public, with "
        "items being redistributed to the British Galleries, the Medieval & Renaissance "
        "Galleries, and the planned new galleries for Furniture and Europe 1600–1800, and "
        "that the Horniman Museum and other institutions were possible candidates for "
        "loans of material to ensure that the instruments remained publicly viewable. The "
        "Horniman went on to host a joint exhibition with the V&A of musical instruments, "
        "and has the loan of 35 instruments from the museum."
    )
VA_PAINTINGS =     (
        "In 1857 John Sheepshanks donated 233 paintings, mainly by contemporary British "
        "artists, and a similar number of drawings to the museum with the intention of "
        "forming a 'A National Gallery of British Art', a role since taken on by Tate "
        "Britain; artists represented are William Blake, James Barry, Henry Fuseli, Sir "
        "Edwin Henry Landseer, Sir David Wilkie, William Mulready, William Powell Frith, "
        "Millais and Hippolyte Delaroche. Although some of Constable's works came to the "
        "museum with the Sheepshanks bequest, the majority of the artist's works were "
        "donated by his daughter Isabel in 1888, including the large number of sketches "
        "in oil, the most significant being the 1821 full size oil sketch for The Hay "
        "Wain. Other artists with works in the collection include: Bernardino Fungai, "
        "Marcus Gheeraerts the Younger, Domenico di Pace Beccafumi, Fioravante Ferramola, "
        "Jan Brueghel the Elder, Anthony van Dyck, Ludovico Carracci, Antonio Verrio, "
        "Giovanni Battista Tiepolo, Domenico Tiepolo, Canaletto, Francis Hayman, Pompeo "
        "Batoni, Benjamin West, Paul Sandby, Richard Wilson, William Etty, Henry Fuseli, "
        "Sir Thomas Lawrence, James Barry, Francis Danby, Richard Parkes Bonington and "
        "Alphonse Legros."
    )
# Figures restated from the paragraphs above (not new information).
VA_TABLE = [
    ("Collection", "Holdings"),
    ("Far Eastern collections", "more than 70,000 works of art"),
    ("Chinese objects (T. T. Tsui Gallery)", "approximately 16,000 objects"),
    ("Costume collection", "over 14,000 outfits plus accessories"),
    ("Talbot Hughes collection (1913)", "1,442 costumes and items"),
    ("Sheepshanks gift (1857)", "233 paintings"),
]

# Kept in the file's metadata rather than its text, where it would be indexed and quoted.
ATTRIBUTION = ("Excerpts from the Wikipedia article \u201c{}\u201d by Wikipedia contributors "
               "(CC BY-SA 4.0); see SOURCES.md.")


def make_pdf(path: Path) -> None:
    """Three A4 pages; the title goes into the PDF metadata too."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    # Core fonts in Windows-1252 cover the en dashes in the text; no font file needed.
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(BLACK_DEATH_TITLE)
    pdf.set_author("Wikipedia contributors")
    pdf.set_subject(ATTRIBUTION.format(BLACK_DEATH_TITLE))
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(auto=True, margin=20)
    for n, page in enumerate(BLACK_DEATH_PAGES):
        pdf.add_page()
        if n == 0:
            pdf.set_font("Helvetica", "B", 20)
            pdf.multi_cell(0, 10, BLACK_DEATH_TITLE, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        for heading, para in page:
            pdf.set_font("Helvetica", "B", 14)
            pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    """Title, Heading 1/2 sections and a table; fixed dates so the bytes are stable."""
    import docx

    d = docx.Document()
    props = d.core_properties
    props.title = VA_TITLE
    props.author = "Wikipedia contributors"
    props.comments = ATTRIBUTION.format(VA_TITLE)
    props.last_modified_by = "scripts/make_corpus.py"
    props.created = props.modified = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1
    d.add_heading(VA_TITLE, level=0)
    d.add_heading("History", level=1)
    d.add_paragraph(VA_HISTORY)
    d.add_heading("Collections", level=1)
    d.add_heading("Collections at a glance", level=2)
    table = d.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for cells in VA_TABLE:
        row = table.add_row().cells
        for cell, value in zip(row, cells, strict=True):
            cell.text = value
    d.add_heading("Far Eastern collections", level=2)
    d.add_paragraph(VA_FAR_EAST)
    d.add_heading("Costume", level=2)
    d.add_paragraph(VA_COSTUME)
    d.add_heading("Paintings", level=2)
    d.add_paragraph(VA_PAINTINGS)
    d.add_heading("Musical Instruments gallery", level=1)
    d.add_paragraph(VA_INSTRUMENTS)
    buf = io.BytesIO()
    d.save(buf)
    path.write_bytes(_fixed_zip_dates(buf.getvalue()))


def _fixed_zip_dates(data: bytes) -> bytes:
    """Rewrite a zip with every entry dated FIXED_DATE (zipfile stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


def paragraphs() -> dict[str, list[str]]:
    """The verbatim paragraphs, by XQuAD article title."""
    return {
        "Black_Death": [p for page in BLACK_DEATH_PAGES for _, p in page],
        "Victoria_and_Albert_Museum": [VA_HISTORY, VA_FAR_EAST, VA_COSTUME, VA_INSTRUMENTS,
                                       VA_PAINTINGS],
    }


def verify(source: Path) -> list[str]:
    """Paragraphs that are not found verbatim in the XQuAD/SQuAD JSON at `source`."""
    data = json.loads(source.read_text(encoding="utf-8"))
    contexts = {a["title"]: {p["context"] for p in a["paragraphs"]} for a in data["data"]}
    return [f"{title}: {para[:60]}..." for title, paras in paragraphs().items()
            for para in paras if para not in contexts.get(title, set())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs_src", help="output folder")
    ap.add_argument("--verify", type=Path, default=None, metavar="XQUAD_JSON",
                    help="check the paragraphs against the JSON they were taken from")
    args = ap.parse_args(argv)
    if args.verify is not None:
        missing = verify(args.verify)
        for m in missing:
            sys.stderr.write(f"not verbatim in {args.verify}: {m}\n")
        if missing:
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    make_pdf(args.out / "black-death.pdf")
    make_docx(args.out / "victoria-and-albert-museum.docx")
    sys.stdout.write(f"wrote black-death.pdf and victoria-and-albert-museum.docx in {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
