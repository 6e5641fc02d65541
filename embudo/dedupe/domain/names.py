"""Given-name diminutives and nicknames (Spanish and English), folded to ASCII lower case.

``canonical_given("Pepe") == ("jose",)``. A nickname can stand for several names ("alex"), so the
canonical form is a tuple; two given names are nickname-equivalent when their tuples intersect.
Compound forms ("Chema" = José María) map to the joined canonical ("jose maria").
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping

# canonical (folded) -> nicknames/diminutives (folded)
_GROUPS: Mapping[str, tuple[str, ...]] = {
    # Spanish
    "jose": ("pepe", "pepito", "pepin", "josito", "che", "chepe"),
    "josefa": ("pepa", "pepita", "fina"),
    "jose maria": ("chema", "josema", "chemari"),
    "maria jose": ("majo", "marijose"),
    "maria luisa": ("marisa", "malu"),
    "maria isabel": ("maribel",),
    "maria del carmen": ("maricarmen", "mamen", "mari carmen"),
    "maria teresa": ("maite", "marite"),
    "francisco": ("paco", "pancho", "curro", "quico", "fran", "paquito", "cisco", "frank"),
    "francisca": ("paca", "paquita", "pancha", "fran"),
    "ignacio": ("nacho", "iñaki", "inaki", "nacio"),
    "dolores": ("lola", "loli", "lolita"),
    "concepcion": ("concha", "conchita", "conchi", "chon"),
    "manuel": ("manolo", "manu", "lolo", "manolito", "manny"),
    "enrique": ("quique", "kike", "enri", "henry", "harry", "hank"),
    "antonio": ("toni", "tono", "antoñito", "tonio", "tony"),
    "antonia": ("toñi", "toni", "tona"),
    "alejandro": ("alex", "alejo", "jandro", "ale"),
    "alejandra": ("alex", "ale", "jandra"),
    "guadalupe": ("lupe", "lupita", "pita"),
    "rosario": ("charo", "chayo", "rosi"),
    "consuelo": ("chelo",),
    "eduardo": ("lalo", "edu", "eddie", "ed", "ted"),
    "guillermo": ("memo", "guille", "willy"),
    "roberto": ("beto", "robe", "tito"),
    "alberto": ("beto", "albert", "tito"),
    "rafael": ("rafa", "rafi"),
    "fernando": ("fer", "nando"),
    "jesus": ("chucho", "chuy", "chus", "suso"),
    "ramon": ("moncho",),
    "gonzalo": ("gonza", "chalo"),
    "javier": ("javi",),
    "daniel": ("dani", "danny", "dan"),
    "daniela": ("dani",),
    "cristina": ("cris", "tina"),
    "cristobal": ("cristo", "tobal"),
    "mercedes": ("merche", "meche"),
    "montserrat": ("montse",),
    "asuncion": ("asun",),
    "encarnacion": ("encarna",),
    "inmaculada": ("inma",),
    "purificacion": ("puri",),
    "soledad": ("sole", "chole"),
    "natividad": ("nati",),
    "margarita": ("marga", "magui", "rita"),
    "teresa": ("tere", "teresita", "tessa", "terry"),
    "isabel": ("isa", "chabela", "belita"),
    "luis": ("lucho", "luisito"),
    "pedro": ("perico", "pedrito"),
    "santiago": ("santi", "chago", "yago"),
    "sebastian": ("sebas", "seba", "chano"),
    "salvador": ("chava", "salva", "boro"),
    "vicente": ("chente", "vicen"),
    "agustin": ("agus", "tin"),
    "federico": ("fede", "quico", "fred"),
    "gregorio": ("goyo",),
    "gerardo": ("gera", "jerry"),
    "armando": ("mando",),
    "adolfo": ("fito",),
    "rodolfo": ("rudy", "fito"),
    "ernesto": ("neto",),
    "humberto": ("beto",),
    "patricia": ("patri", "paty", "pati", "patty", "pat", "trish", "tricia"),
    "ana maria": ("anamari",),
    "beatriz": ("bea",),
    "victoria": ("vicky", "viki", "tori"),
    # English
    "robert": ("bob", "bobby", "rob", "robbie", "bert", "robby"),
    "william": ("bill", "billy", "will", "willie", "liam", "willy"),
    "elizabeth": ("liz", "beth", "lizzie", "betty", "eliza", "libby", "betsy", "liza", "elisa"),
    "margaret": ("peggy", "maggie", "meg", "marge", "madge", "greta", "rita", "daisy"),
    "james": ("jim", "jimmy", "jamie", "jimbo"),
    "john": ("jack", "johnny", "jon"),
    "jonathan": ("jon", "jonny", "johnny", "nate"),
    "richard": ("rick", "dick", "rich", "ricky", "richie"),
    "michael": ("mike", "mikey", "mick", "micky", "mickey"),
    "thomas": ("tom", "tommy"),
    "charles": ("charlie", "chuck", "chas", "chaz"),
    "joseph": ("joe", "joey", "jo"),
    "christopher": ("chris", "kit", "topher"),
    "christine": ("chris", "chrissy", "tina"),
    "christina": ("chris", "chrissy", "tina"),
    "anthony": ("tony",),
    "edward": ("ed", "eddie", "ted", "ned", "teddy"),
    "theodore": ("ted", "teddy", "theo"),
    "david": ("dave", "davey"),
    "steven": ("steve", "stevie"),
    "stephen": ("steve", "stevie"),
    "matthew": ("matt", "matty"),
    "andrew": ("andy", "drew"),
    "benjamin": ("ben", "benny", "benji"),
    "nicholas": ("nick", "nicky", "nico"),
    "alexander": ("alex", "xander", "sandy", "al"),
    "alexandra": ("alex", "sandra", "sandy", "lexi"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam", "sammy"),
    "gregory": ("greg",),
    "jeffrey": ("jeff",),
    "kenneth": ("ken", "kenny"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donnie"),
    "timothy": ("tim", "timmy"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "raymond": ("ray",),
    "lawrence": ("larry",),
    "gerald": ("jerry", "gerry"),
    "frederick": ("fred", "freddie", "freddy"),
    "henry": ("hank", "harry", "hal"),
    "harold": ("harry", "hal"),
    "walter": ("walt", "wally"),
    "zachary": ("zach", "zack"),
    "katherine": ("kate", "katie", "kathy", "kat", "kitty", "kay"),
    "catherine": ("cathy", "kate", "katie", "cat"),
    "kathleen": ("kathy", "kath"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "rebecca": ("becky", "becca"),
    "deborah": ("debbie", "deb"),
    "susan": ("sue", "susie", "suzy"),
    "barbara": ("barb", "babs"),
    "dorothy": ("dot", "dottie", "dolly"),
    "abigail": ("abby", "gail"),
    "jacqueline": ("jackie",),
    "pamela": ("pam",),
    "kimberly": ("kim",),
    "cynthia": ("cindy",),
    "sandra": ("sandy",),
    "judith": ("judy",),
    "virginia": ("ginny", "ginger"),
    "frances": ("fran", "fanny"),
    "mary": ("molly", "polly", "mamie"),
    "ann": ("annie", "nan", "nancy"),
    "anne": ("annie", "nan"),
}


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Accent-folded lower case with single spaces; anything not a letter or digit is a space.

    Cached: the same names, cities and companies come back for every comparison of a worker process.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = []
    for ch in decomposed:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif unicodedata.combining(ch) or ch in "'’":
            continue
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def _build() -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    for canonical, nicknames in _GROUPS.items():
        canon = fold(canonical)
        if not canon:
            continue
        table.setdefault(canon, set()).add(canon)
        for nick in nicknames:
            table.setdefault(fold(nick), set()).add(canon)
    return {key: tuple(sorted(values)) for key, values in table.items()}


NICKNAMES: Mapping[str, tuple[str, ...]] = _build()


def canonical_given(name: str) -> tuple[str, ...]:
    """The canonical given names a (folded or not) given name may stand for; itself when unknown."""
    folded = fold(name)
    if not folded:
        return ()
    return NICKNAMES.get(folded, (folded,))


def nickname_equivalent(a: str, b: str) -> bool:
    """Whether two given names can be the same person's (same name, or diminutive of the same)."""
    ca, cb = canonical_given(a), canonical_given(b)
    return bool(ca and cb and set(ca) & set(cb))
