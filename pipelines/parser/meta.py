"""Title, issuer, report year and publication date, each with its fallbacks in a fixed order."""
from __future__ import annotations

import re
from datetime import date

from .dates import find_date, is_date_line, publication_rank
from .titles import is_report_title, report_phrase_spans, report_phrase_start
from .values import normalize

_ORG_SUFFIX = (r"(?:人民政府|街道办事处|办事处|人民政府办公室|办公室|委员会|局|镇|乡|街道|苏木|嘎查|中心|管委会|"
               r"管理委员会|院|厅|署|处|所|站|委|部|政府)")
_ORG_LINE_RE = re.compile(r"^[\u4e00-\u9fff（）()]{2,30}" + _ORG_SUFFIX + r"$")
_COMPILED_BY_RE = re.compile(r"由([\u4e00-\u9fff（）()]{2,40}?" + _ORG_SUFFIX + r")(?:负责)?(?:编制|编写|制作)")
_YEAR_SUBJECT_RE = re.compile(r"(?:19|20)\d{2}年[,，、]?\s*([\u4e00-\u9fff]{2,12}?(?:人民政府|街道办事处|办事处|乡|镇|街道|局|委员会))"
                              r"(?=[以按在未共全认严坚紧进持不通积高着立切])")
_PERIOD_RE = re.compile(r"至\s*((?:19|20)\d{2})\s*年\s*12\s*月\s*31\s*日")
_PERIOD_START_RE = re.compile(r"统计(?:期限|时限|区间|时间|期)?.{0,8}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
_YEAR_RE = re.compile(r"((?:19|20)\d{2})")
_BREADCRUMB_SEP = r"[>›»]"
_CLOSING_NOTE_RE = re.compile(r"^[（(【\[][^）)】\]]{1,20}[）)】\]]$")
# Page furniture that runs into the title when a page's text lost its spaces.
_CHROME_RE = re.compile(r"搜索|位置|排序|首页|匹配度|当前|导航|登录|注册|无障碍|繁体|简体|关闭|打印|字号|分享")
_BREADCRUMB_RE = re.compile(r"[>›»]|当前位置|您的位置|所在位置|现在的位置")
_TITLE_YEAR_RE = re.compile(r"(?:关于)?\s*(?:19|20)\d{2}\s*年?度?")
_NAME = r"([\u4e00-\u9fff（）()]{2,40}?)"
_REPORT_WORDS = r"(?:政府信息公开|政务信息公开|政务公开|信息公开)"
_YEAR_WORDS = r"(?:(?:19|20)\d{2}年度?)?"
# The first sentence naming the report: "现公布X2024年度政府信息公开…", "现将X…年度报告公布如下", "《X2024年…报告》".
_FIRST_SENTENCE_RES = (
    re.compile(r"[现特](?:向社会)?(?:予以|予)?[公发]布(?:的)?" + _NAME + _YEAR_WORDS + _REPORT_WORDS),
    re.compile(r"现将" + _NAME + _YEAR_WORDS + _REPORT_WORDS + r"[^。，,]{0,16}?报告(?:予以)?公布"),
    re.compile(r"《" + _NAME + r"(?:19|20)\d{2}年度?" + _REPORT_WORDS + r"[^《》]{0,16}报告》"),
)
# "市政府办公室", "县政府": a body named relative to the reader, not by its name.
_RELATIVE_NAME_RE = re.compile(r"^[省市县区旗镇乡](?:人民)?政府")
_SELF_WORDS = ("本", "我", "全", "各", "该")
_NAME_END_RE = re.compile(r"(?:人民政府|政府|街道办事处|办事处|委员会|局|镇|乡|街道|苏木|市|县|区|旗|州|盟|办公室|中心|管委会)$")
_TITLE_LABELS = ("名称", "标题", "信息名称", "文件名称")
_ISSUER_LABELS = ("发布机构", "发布单位", "发布部门", "发文机关", "发文单位", "公开主体", "公开单位")
# The office that posts pages for a whole county (县府办, 政府办公室, 信息中心), not the report's body.
_POSTING_OFFICE_RE = re.compile(r"(?:府办|政府办|办公室|办公厅|信息中心|网站|网管|管理员|融媒体中心|公开办|政务服务中心)$")
_BODY_SUFFIX_RE = re.compile(r"(?:人民政府|街道办事处|办事处|政府)$")
_DIVISION_PREFIX_RE = re.compile(r"(?:[\u4e00-\u9fff]{1,8}?(?:省|自治区|市|州|盟|地区|区|县|旗))+")


def find_title(candidates: list[str], *, inline: bool = False) -> str | None:
    """The first candidate that is a report title. With `inline` (a text whose lines ran together),
    a candidate may hold the title among other words: the title is cut out of it, and one that names
    a year is preferred (a breadcrumb's last item, "乡镇街道信息公开工作年度报告", names the column)."""
    found = []
    for candidate in candidates:
        for text in candidate.split("|"):  # a nav bar or a header row: each cell on its own
            text = text.strip()
            if inline:
                text = title_in_line(re.split(_BREADCRUMB_SEP, text)[-1]) or ""
            elif _BREADCRUMB_RE.search(text):
                continue
            elif " " in text and _CHROME_RE.search(text):  # "匹配度 排序 泽州县人民政府2024年…报告"
                text = title_in_line(text) or ""
            if text and len(text) <= 80 and is_report_title(text) and _names_something(text):
                if not inline:
                    return text
                found.append(text)
    return next((t for t in found if _YEAR_RE.search(t)), found[0] if found else None)


def _names_something(title: str) -> bool:
    """A title names a year or a body besides the report words; "政府信息公开年报" alone is a column's name."""
    start, end = report_phrase_spans(title)[0]
    rest = title[:start] + title[end:]
    return len(re.findall(r"[\u4e00-\u9fff\d]", rest)) >= 2


def title_in_line(text: str) -> str | None:
    """The title inside a line that also holds other words ("泽州县人民政府 搜索 … X2024年…报告 发布时间: …").

    It ends with the report words (and a bracketed note right after them); it starts at the token
    holding them (after any earlier report words), taken further left only over the pieces a title is
    printed in ("官坡镇人民政府 2024 年…"). Of several, the first that names a year."""
    found = []
    previous_end = 0
    for span in report_phrase_spans(text):
        title = _title_ending_at(text, span, previous_end)
        previous_end = span[1]
        if title and is_report_title(title):
            found.append(title)
    return next((t for t in found if _YEAR_RE.search(t)), found[0] if found else None)


def _title_ending_at(text: str, span: tuple[int, int], not_before: int) -> str | None:
    end = span[1]
    bracket = re.match(r"\s*[（(][^（）()]{1,12}[)）]", text[end:])
    if bracket:
        end += bracket.end()
    tokens = [(t.start(), t.end()) for t in re.finditer(r"\S+", text[:span[0] + 1])]
    if not tokens:
        return None
    i = len(tokens) - 1
    while i > 0:
        piece = text[tokens[i][0]:span[0] + 1]
        previous = text[tokens[i - 1][0]:tokens[i - 1][1]]
        if not (re.match(r"^(?:[0-9０-９]|年|度|关于)", piece) or re.fullmatch(r"(?:19|20)\d{2}年?度?", previous)):
            break
        i -= 1
    title = re.split(r"[:：|]", text[max(tokens[i][0], not_before):end])[-1].strip()
    if re.search(r"[，,。；;《》“”「」]", title):
        return None  # the report named inside a sentence or in quotes is a mention, not a title
    if _CHROME_RE.search(title[:span[0]]):
        return None  # page furniture ran into it (a text without spaces): no title rather than a wrong one
    return title or None


def _closing_lines(lines: list[str], n: int) -> list[str]:
    """The last n lines of the document, without a closing note in brackets ("（此件公开发布）")."""
    tail = [l.strip() for l in lines if l.strip()]
    while tail and _CLOSING_NOTE_RE.match(tail[-1]):
        tail.pop()
    return tail[-n:]


def issuer_from_signature(lines: list[str]) -> str | None:
    """'泽州县人民政府' above '2025年2月5日' at the end of the document (or both on one line)."""
    tail = _closing_lines(lines, 6)
    for i in range(len(tail) - 1, -1, -1):
        text = "".join(normalize(tail[i]).split())
        if is_date_line(text) and i > 0:
            org = "".join(normalize(tail[i - 1]).split())
            if _ORG_LINE_RE.match(org):
                return org
        m = re.match(r"^([\u4e00-\u9fff（）()]{2,30}" + _ORG_SUFFIX + r")\s*((?:19|20)\d{2}年.*日)$", text)
        if m and is_date_line(m.group(2)):
            return m.group(1)
    return None


def issuer_from_title(title: str | None) -> str | None:
    if not title:
        return None
    start = report_phrase_start("".join(normalize(title).split()))
    head = "".join(normalize(title).split())[:start]
    head = _TITLE_YEAR_RE.sub("", head).strip("关于的、,，:： ")
    return head if len(head) >= 2 else None


def _body_name(name: str | None) -> str | None:
    """A name as a body calls itself: not "本机关"/"我县", and 人民 completed when the report words ate 政府."""
    if not name:
        return None
    name = name.strip("关于的、,，:： ")
    if name.endswith("人民"):
        name += "政府"
    if len(name) < 2 or name.startswith(_SELF_WORDS) or not _NAME_END_RE.search(name):
        return None
    return name


def issuer_from_first_sentence(text: str) -> str | None:
    """The body the first sentence names: "现公布X2024年度…", "现将X…公布如下", "《X2024年…报告》"."""
    plain = "".join(normalize(text).split())
    for regex in _FIRST_SENTENCE_RES:
        for m in regex.finditer(plain):
            name = _body_name(m.group(1))
            if name:
                return name
    return None


def issuer_from_header(pairs: list[tuple[str, str]]) -> str | None:
    """发布机构/发文机关/… when it names a body; the office that posted the page (县府办, 办公室) is not the issuer."""
    for label, value in pairs:
        if not any(label.endswith(l) for l in _ISSUER_LABELS):
            continue
        name = "".join(value.split())
        m = _ORG_LINE_RE.match(name)
        if m and not _POSTING_OFFICE_RE.search(name):
            return name
    return None


def same_body_fuller(short: str, long: str) -> bool:
    """Does `long` name the same body as `short`, more fully (X区人民政府 → X市X区人民政府, X镇 → X镇人民政府)?"""
    if long == short or len(long) <= len(short):
        return False
    a, b = _core(short), _core(long)
    if not a or not b.endswith(a):
        return False
    prefix = b[:len(b) - len(a)]
    if prefix and not _DIVISION_PREFIX_RE.fullmatch(prefix):
        return False
    # The short form must not name a different body type than the long one (X县 vs X县人民政府办公室).
    return long.endswith(short) or _core(short) == short


def fullest_name(chosen: str, named: list[str], placed: list[str]) -> str:
    """The fullest name of the chosen body. `named` are the document's statements of its own name
    (落款, 由…编制, 现公布…): they may complete a bare place name (X镇 → X镇人民政府). `placed` (the
    title, the page header) may only add the divisions above it (X区人民政府 → X市X区人民政府)."""
    best = chosen
    for name in named:
        if same_body_fuller(best, name):
            best = name
    for name in placed:
        if same_body_fuller(best, name) and _suffix(name) == _suffix(best):
            best = name
    return best


def _suffix(name: str) -> str:
    m = _BODY_SUFFIX_RE.search(name)
    return m.group(0) if m else ""


def _core(name: str) -> str:
    """The name without its body word: 包头市昆都仑区人民政府 → 包头市昆都仑区, X街道办事处 → X街道."""
    m = _BODY_SUFFIX_RE.search(name)
    return name[:m.start()] + ("街道" if m and m.group(0) == "街道办事处" else "") if m else name


def _government_of_office(compiler: str, titled: str | None) -> str:
    """由X人民政府办公室编制 in the report of X人民政府 (titled "X…年度报告"): the office compiled it, the
    government issues it. An office's own report (titled with the office) stays the office's."""
    government = re.sub(r"办公室$", "", compiler)
    if government != compiler and titled and _BODY_SUFFIX_RE.search(government) and \
            not titled.endswith("办公室") and (titled == government or same_body_fuller(titled, government)):
        return government
    return compiler


def title_from_header(pairs: list[tuple[str, str]]) -> str | None:
    """名称/标题 of a gkml header table."""
    for label, value in pairs:
        if label in _TITLE_LABELS and is_report_title(value):
            return value.strip()
    return None


def find_issuer(title: str | None, body_lines: list[str], first_section: str,
                header: list[tuple[str, str]] | None = None, head_text: str = "") -> str | None:
    """In order: the signature (落款), "由…编制", the first sentence ("现公布X…", "《X…报告》"), the title,
    the page header's 发布机构 (unless it is the posting office), the subject of section 一's first
    sentences. The first found is the body; the fullest name any source or the text gives it wins."""
    text = "".join(normalize("\n".join(body_lines)).split())
    m = _COMPILED_BY_RE.search(text)
    compiled_by = _government_of_office(m.group(1), issuer_from_title(title)) \
        if m and not _RELATIVE_NAME_RE.match(m.group(1)) else None
    intro = head_text + "\n" + first_section[:600]
    subject = _YEAR_SUBJECT_RE.search("".join(normalize(first_section).split()))
    sources = [
        issuer_from_signature(body_lines),
        compiled_by,
        issuer_from_first_sentence(intro),
        issuer_from_title(title),
        issuer_from_header(header or []),
        subject.group(1) if subject else None,
    ]
    chosen = next((s for s in sources if s), None)
    if chosen is None:
        return None
    return fullest_name(chosen, [s for s in sources[:3] if s], [s for s in sources[3:] if s])


def find_report_year(title: str | None, body_text: str, first_section: str, published: date | None) -> int | None:
    plain = "".join(normalize(body_text).split())
    for regex in (_PERIOD_RE, _PERIOD_START_RE):
        m = regex.search(plain)
        if m:
            return int(m.group(1))
    if title:
        m = _YEAR_RE.search(normalize(title))
        if m:
            return int(m.group(1))
    m = _YEAR_RE.search(normalize(first_section))
    if m:
        return int(m.group(1))
    return published.year - 1 if published else None


def published_from_header(pairs: list[tuple[str, str]]) -> date | None:
    """The header date whose label most surely means publication (发布日期 over 生成日期 over 日期)."""
    best: tuple[int, int, date] | None = None
    for i, (label, value) in enumerate(pairs):
        rank = publication_rank(label)
        if rank is None:
            continue
        d = find_date(value[:40])
        if d and (best is None or (rank, i) < best[:2]):
            best = (rank, i, d)
    return best[2] if best else None


def published_from_signature(body_lines: list[str]) -> date | None:
    for line in reversed(_closing_lines(body_lines, 4)):
        if is_date_line(line):
            return find_date(line)
        m = re.search(r"((?:19|20)\d{2}年\d{1,2}月\d{1,2}日|[〇零○一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日)$",
                      "".join(normalize(line).split()))
        if m:
            return find_date(m.group(1))
    return None


def find_published(meta_pubdate: str | None, header: list[tuple[str, str]], body_lines: list[str]) -> date | None:
    """meta PubDate, then the header's best publication label, then the signature date (落款)."""
    if meta_pubdate:
        d = find_date(meta_pubdate)
        if d:
            return d
    return published_from_header(header) or published_from_signature(body_lines)
