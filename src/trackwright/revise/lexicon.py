"""The vocabulary of creative notes, as data: qualities, frequency regions, parts, degrees,
negations, constraints and edits, each a phrase pattern (:mod:`trackwright.revise.tokens`).

Conventions
-----------
* A :class:`Quality` names a dimension (:data:`trackwright.revise.directives.DIMENSIONS`) and the
  direction its words ask for when *requested* ("warmer": warmth +1, "muddy": mud +1). The
  reader flips it when the words describe a fault ("it's muddy", "too warm", "not so dark") and
  turns it into a constraint when it is negated as a request ("not louder", "don't make it any
  brighter"). ``comparative`` marks the forms that can be negated that way ("louder", "warmer").
* Degrees set a directive's amount: :data:`TINY` 0.15, :data:`SMALL` 0.3, plain 0.6,
  :data:`LARGE` 1.0.
* Regions name bands (:data:`trackwright.revise.directives.REGIONS`); "low end", "top end",
  "bottom end" are regions, never sections.
"""

from __future__ import annotations

from dataclasses import dataclass

from trackwright.revise.tokens import Phrase, compile_phrase

TINY, SMALL, PLAIN, LARGE = 0.15, 0.3, 0.6, 1.0


@dataclass(frozen=True)
class Quality:
    """Words for a dimension: ``pattern`` (a phrase), the ``direction`` they ask for, whether
    they are a ``comparative`` ("warmer") and whether they name a ``fault`` ("muddy")."""

    pattern: str
    dimension: str
    direction: int
    comparative: bool = False
    fault: bool = False

    @property
    def phrase(self) -> Phrase:
        return compile_phrase(self.pattern)

    @property
    def noun(self) -> bool:
        """A noun of its dimension ("tempo", "the low end"): its direction comes from the words around it."""
        return self.pattern in NOUNS


def _q(dimension: str, direction: int, *patterns: str, comparative: bool = False, fault: bool = False
       ) -> list[Quality]:
    return [Quality(p, dimension, direction, comparative, fault) for p in patterns]


#: Affect and craft words. Comparatives first: at one position the longest match wins, then the first.
QUALITIES: tuple[Quality, ...] = tuple(
    # comparatives (a negation before them is a constraint: "not louder")
    _q("loudness", 1, "louder", comparative=True) + _q("loudness", -1, "quieter", "softer", comparative=True)
    + _q("brightness", 1, "brighter", comparative=True) + _q("brightness", -1, "darker", "duller", comparative=True)
    + _q("warmth", 1, "warmer", comparative=True) + _q("warmth", -1, "colder", "cooler", comparative=True)
    + _q("width", 1, "wider", comparative=True) + _q("width", -1, "narrower", comparative=True)
    + _q("size", 1, "bigger", "larger", "fuller", "grander", comparative=True)
    + _q("size", -1, "smaller", comparative=True)
    + _q("pace", 1, "faster", "quicker", "speedier", comparative=True)
    + _q("pace", -1, "slower", comparative=True)
    + _q("harshness", 1, "harsher", "edgier", comparative=True)
    + _q("density", 1, "busier", "denser", "thicker", comparative=True)
    + _q("density", -1, "sparser", "simpler", "thinner", comparative=True)
    + _q("reverb", 1, "wetter", comparative=True) + _q("reverb", -1, "drier", "dryer", comparative=True)
    + _q("punch", 1, "punchier", "harder", "tighter", comparative=True)
    + _q("energy", 1, "angrier", "livelier", comparative=True)
    + _q("energy", -1, "calmer", "gentler", "mellower", comparative=True)
    + _q("valence", 1, "happier", "lighter", "cheerier", comparative=True)
    + _q("valence", -1, "sadder", "moodier", "gloomier", comparative=True)
    + _q("intimacy", 1, "closer", "lonelier", comparative=True)
    + _q("reverb", 1, "dreamier", "hazier", comparative=True)
    + _q("low_end", 1, "heavier", comparative=True)
    + _q("length", 1, "longer", comparative=True) + _q("length", -1, "shorter", comparative=True)
    + _q("key", 1, "higher", comparative=True)
    # intimacy / vulnerability
    + _q("intimacy", 1, "vulnerab*", "fragil*", "exposed", "naked", "intimat*", "tender*", "delicate*", "personal",
         "close up", "lonely", "loneliness", "alone", "isolated", "in the room")
    + _q("intimacy", -1, "distant", "detached", "aloof", "remote")
    # restraint
    + _q("restraint", 1, "hold [it|things|emotion*|emotionally|everything|back]? back",
         "hold [the|its] [energy|intensity|level|dynamics] back",
         "hold back [the|its]? [energy|intensity|level|dynamics]", "held back", "restrain*", "understat*",
         "reserved", "save it", "keep it [down|low]", "keep it under control")
    + _q("restraint", -1, "let [it]? go", "unleash*", "all out", "go for it", "blow [it]? up", "release",
         "let rip")
    # tension
    + _q("tension", 1, "tension", "tense*", "suspens*", "uneas*", "unsettl*", "anxious", "anxiety", "nervous",
         "ominous", "dread*", "edge", "menac*", "threat*", "creep*", "uncertain*", "mysteri*", "mystery",
         "sinister", "eerie", "foreboding")
    + _q("tension", -1, "resolv*", "reassur*", "settled", "at ease", "comfort*", "peaceful", "safe")
    # energy
    + _q("energy", 1, "energ*", "driv*", "excit*", "intens*", "urgen*", "aggress*", "powerful", "power", "upbeat",
         "lively", "hype*", "angry", "anger", "fierce", "fire", "heat", "oomph", "hit harder", "hits harder",
         "hit hard", "land [it]? harder", "impact",
         "[doesn't|doesnt|never] [really|quite]? [hit|hits|land|lands|lift|lifts|pop|pops|soar|soars|explode|explodes|arrive|arrives]",
         "[doesn't|doesnt|never] [really|quite]? [take|takes] off",
         "[doesn't|doesnt|never] [really|quite]? [kick|kicks] in",
         "no lift", "no payoff")
    + _q("energy", -1, "calm*", "gentle", "gently", "mellow*", "laid back", "chill*", "soothing", "serene",
         "low key", "relax*", "lazy", "sleepy", "polite")
    # valence
    + _q("valence", 1, "happ*", "joy*", "uplift*", "hope*", "optimis*", "cheer*", "positive", "triumph*",
         "euphori*", "playful", "light hearted", "carefree", "sunny", "bright mood")
    + _q("valence", -1, "sad*", "melanchol*", "bleak", "somber", "sombre", "mourn*", "grief", "griev*", "tragic",
         "gloom*", "depress*", "nostalgi*", "bittersweet", "heartbreak*", "moody", "darker mood", "dark mood",
         "wistful", "haunting")
    # size
    + _q("size", 1, "big", "epic", "huge", "grand", "massive", "cinematic", "expansive", "large", "anthemic",
         "lush*", "full", "fullness", "majestic", "enormous")
    + _q("size", -1, "small", "tiny sound", "modest", "compact", "cramped", fault=False)
    # warmth
    + _q("warmth", 1, "warm", "warmth", "cozy", "cosy", "round*", "analog*", "rich*", "body")
    + _q("warmth", -1, "cold*", "clinical", "sterile", "icy", "digital", "thin")
    # brightness
    + _q("brightness", 1, "bright", "brightness", "brighten", "airy", "sparkl*", "shin*", "crisp*", "open")
    + _q("brightness", -1, "dark", "darken", "dull*", "muffled", "murky", "veiled", "closed in", "closed")
    # density
    + _q("density", 1, "busy", "clutter*", "crowded", "dense", "density", "thick", "layered", "more going on",
         "more parts", "wall of sound", "fighting", "too much going on")
    + _q("density", -1, "strip [it|things]? [back|down]", "stripped [back|down]?", "spars*", "thin [it|things]? out",
         "simple", "simplif*", "minimal*", "bare", "breathe", "breathing", "space", "spacious", "room to breathe",
         "fewer [parts|instruments|notes|layers]", "less going on", "declutter*")
    # dialogue room
    + _q("clearance", 1, "[under|behind|beneath] [the]? [dialog|dialogue|voice|vo|narration|lines|voiceover]",
         "[under|behind|beneath] [the]? voice over", "dialog friendly", "dialogue friendly",
         "make [some]? room [for]? [the]? [dialog|dialogue|voice|it|them|narration]?",
         "[dialog|dialogue|narration|voiceover] [is|gets] [lost|buried|masked]", "stay under")
    # pace
    + _q("pace", 1, "fast", "quick*", "speed [it]? up", "hurr*", "brisk*", "tempo up", "pick up the pace",
         "tighten [it|things]? up", "rushed", "frantic", "rushing", "momentum", "forward motion", "forward momentum",
         "tempo", "bpm", "up tempo",
         "uptempo", fault=False)
    + _q("pace", -1, "slow", "slowly", "drag*", "linger*", "unhurried", "leisurely", "tempo down", "sluggish",
         "plodding", "slow it down")
    # loudness
    + _q("loudness", 1, "loud", "loudly", "turn [it|things]? up", "volume up", "level up", "louder please")
    + _q("loudness", -1, "soft", "quiet", "quietly", "turn [it|things]? down", "hush*", "whisper*",
         "pull [it|things|everything]? back", "volume down")
    # width
    + _q("width", 1, "wide", "width", "widen", "spread [it]? out", "stereo", "stereo image", "stereo field", "image", "open it up", "open up", "open things up")
    + _q("width", -1, "narrow", "narrowing", "mono", "bring it in", "bring it back in", "tighter image")
    # punch
    + _q("punch", 1, "punch*", "snap*", "transient*", "attack", "swagger", "groove", "bounce", "attitude", "strut",
         "hit", "slam*", "kick to it", "smack", "thump*")
    + _q("punch", -1, "glue*", "bus compression", "compress it", "smooth*", "soften the transients")
    # dynamics
    + _q("dynamics", 1, "dynamic", "dynamics", "dynamic range", "expan*", "contrast", "breathing room")
    + _q("dynamics", -1, "flat", "lifeless", "lifeless*", "compressed", "over compressed", "squash*", "static",
         "crushed", "dead", "goes nowhere", "never goes anywhere", "doesn't go anywhere")
    # reverb
    + _q("reverb", 1, "reverb*", "wet", "washy", "ambien*", "roomy", "echo*", "hall", "dreamy",
         "dream*", "hazy", "ethereal", "verb")
    + _q("reverb", -1, "dry", "dry [it|things]? up", "dry it out", "up front", "in your face", "upfront")
    # key
    + _q("key", 1, "sit higher", "strained")
    # length (sections and the whole piece)
    + _q("length", 1, "too long", "goes on forever", "goes on too long", "drags on", "long")
    # regions (nouns and their fault words)
    + _q("low_end", 1, "low end", "bottom end", "bottom", "lows", "low frequencies", "boom*", "bass end", "weight",
         "grounded", "beef*", "thump", "heavy", "low")
    + _q("sub", 1, "sub", "subs", "sub bass", "sub-bass")
    + _q("rumble", 1, "rumble", "rumbling")
    + _q("mud", 1, "mud", "muddy", "muddiness", "low mids", "low-mids", "lower mids", "murk", "boxy", "boxiness")
    + _q("mids", 1, "mids", "midrange", "mid range", "middle frequencies", "honk*", "nasal")
    + _q("clarity", 1, "presence", "clarity", "clear", "clearer", "definition", "intelligib*", "forward")
    + _q("harshness", 1, "harsh*", "upper mids", "upper-mids", "high mids", "bite", "biting", "shrill", "piercing",
         "edgy", "abrasive", "crack", "spit", "sibilan*", "brittle")
    + _q("top", 1, "top end", "top", "highs", "high end", "high frequencies", "treble", "fizz*", "sizzle", "hiss*",
         "tops", "sheen")
    + _q("air", 1, "air", "airiness")
)

#: Words that describe a fault: said of the music, they ask for the opposite ("it's muddy": less mud).
FAULTS = frozenset("""muddy muddiness murk boxy boxiness honk* nasal harsh* shrill piercing brittle abrasive sibilan*
fizz* sizzle hiss* boom* rumble rumbling rushed rushing frantic sluggish plodding drag* clutter* crowded fighting flat
lifeless lifeless* compressed squash* crushed static dead washy strained thin cramped polite muffled murky veiled
dull* closed edgy""".split()) | {"closed in", "too long", "goes on forever", "goes on too long", "drags on",
                                  "goes nowhere", "never goes anywhere", "doesn't go anywhere", "over compressed",
                                  "wall of sound", "too much going on"}
#: Nouns of a dimension (their direction comes from the words around them, default more).
NOUNS = frozenset({"tempo", "pace", "bpm", "width", "stereo", "stereo image", "stereo field", "image", "low end", "bottom end", "bottom", "lows",
                   "low frequencies", "bass end", "weight", "sub", "subs", "sub bass", "sub-bass", "mud", "low mids",
                   "low-mids", "lower mids", "mids", "midrange", "mid range", "middle frequencies", "presence",
                   "clarity", "definition", "upper mids", "upper-mids", "high mids", "top end", "top", "highs",
                   "high end", "high frequencies", "treble", "tops", "sheen", "air", "airiness", "reverb*", "verb",
                   "ambien*", "echo*", "dynamics", "dynamic range", "energ*", "tension", "warmth", "brightness",
                   "density", "space", "body", "punch*", "attack", "transient*", "volume up", "level up", "edge",
                   "heat", "oomph", "impact", "fullness", "loneliness"})

#: Region words that describe an excess: "the low end is overwhelming" asks for less low end.
EXCESS = tuple(compile_phrase(p) for p in (
    "overwhelming", "overpowering", "too much", "too loud", "too hot", "too big", "too strong", "too present",
    "too prominent", "excessive", "over the top", "way too much", "dominat*", "everywhere", "bloated", "washing",
    "washing everything out", "drowning", "swamp*", "hogging", "eating"))

#: Words after a region or dimension noun that describe a lack: "the low end feels weak" asks for more.
DEFICIT = tuple(compile_phrase(p) for p in (
    "weak", "weaker", "lacking", "missing", "anaemic", "anemic", "wimpy", "feeble", "puny", "gone", "lost",
    "buried", "not there", "not enough", "too quiet", "too soft", "too low", "too weak", "too small",
    "underwhelming", "thin", "absent", "nowhere", "nonexistent", "non existent"))
#: Negators that describe the music ("the verse doesn't land"): a complaint asking for more, not a
#: request for less.
DESCRIPTIVE_NEGATORS = frozenset("""doesn't doesnt isn't isnt aren't arent wasn't didn't never""".split())
#: Subjects before "don't" that make it a request or the speaker's view, not a description of the
#: music ("I don't want", "you don't need", "please don't", "we don't"); "and"/"but" open a new
#: request ("louder but don't clip").
SPEAKERS = frozenset("""i you we please and but so then just or""".split())
#: Words saying the music stops without an ending ("it just stops dead"): a fade out is asked for.
ABRUPT = tuple(compile_phrase(p) for p in (
    "just stops", "just ends", "stops dead", "stops abruptly", "ends abruptly", "abrupt*", "stops suddenly",
    "ends suddenly", "cuts off", "just cuts", "cut off", "stops cold", "just drops off", "falls off a cliff"))

#: Parts: pattern → part role (:data:`trackwright.revise.directives.PART_ROLES`).
PARTS: tuple[tuple[str, str], ...] = (
    ("kick drum", "kick"), ("kick", "kick"), ("kicks", "kick"), ("bass drum", "kick"), ("bd", "kick"),
    ("snare*", "snare"), ("hi hat*", "hats"), ("hihat*", "hats"), ("hats", "hats"), ("hat", "hats"),
    ("cymbal*", "hats"), ("ride", "hats"),
    ("drum*", "drums"), ("drum kit", "drums"), ("kit", "drums"), ("beat", "drums"), ("beats", "drums"),
    ("percussion", "percussion"), ("perc", "percussion"), ("shaker*", "percussion"), ("tambourine", "percussion"),
    ("tom*", "percussion"),
    ("bass", "bass"), ("bassline", "bass"), ("bass line", "bass"), ("bass guitar", "bass"),
    ("guitar*", "guitar"), ("piano*", "piano"), ("keys", "keys"), ("keyboard*", "keys"), ("rhodes", "keys"),
    ("epiano", "keys"), ("string*", "strings"), ("violin*", "strings"), ("cello*", "strings"), ("viola*", "strings"),
    ("pad", "pads"), ("pads", "pads"), ("synth*", "synth"), ("vocal*", "vocals"), ("voice", "vocals"),
    ("voices", "vocals"), ("vox", "vocals"), ("singer", "vocals"), ("singing", "vocals"), ("lead", "lead"),
    ("leads", "lead"), ("melody", "lead"), ("tune", "lead"), ("top line", "lead"), ("topline", "lead"),
    ("lead line", "lead"), ("brass", "brass"), ("horn*", "brass"), ("trumpet*", "brass"), ("trombone*", "brass"),
    ("choir", "choir"), ("choral", "choir"), ("organ*", "organ"), ("woodwind*", "woodwinds"), ("flute*", "woodwinds"),
    ("clarinet*", "woodwinds"), ("oboe*", "woodwinds"),
)

#: Degree words → amount.
DEGREES: tuple[tuple[str, float], ...] = (
    ("a tiny bit", TINY), ("tiny bit", TINY), ("tiny", TINY), ("teeny", TINY), ("barely", TINY), ("hardly", TINY),
    ("a hair", TINY), ("a smidge*", TINY), ("ever so slightly", TINY), ("the slightest", TINY),
    ("a tiny amount", TINY), ("just a hint", TINY), ("a hint", TINY), ("a whisper", TINY),
    ("a bit", SMALL), ("a little", SMALL), ("a little bit", SMALL), ("little", SMALL), ("slightly", SMALL),
    ("a touch", SMALL), ("touch", SMALL), ("a tad", SMALL), ("somewhat", SMALL), ("a shade", SMALL),
    ("subtly", SMALL), ("subtle", SMALL), ("marginally", SMALL), ("a notch", SMALL), ("some", SMALL),
    ("much", LARGE), ("a lot", LARGE), ("lots", LARGE), ("way", LARGE), ("really", LARGE), ("very", LARGE),
    ("far", LARGE), ("massively", LARGE), ("hugely", LARGE), ("seriously", LARGE), ("significantly", LARGE),
    ("dramatically", LARGE), ("drastically", LARGE), ("considerably", LARGE), ("completely", LARGE),
    ("totally", LARGE), ("so much", LARGE), ("a ton", LARGE), ("tons", LARGE), ("loads", LARGE), ("heaps", LARGE),
    ("massive", LARGE), ("huge", LARGE), ("extremely", LARGE), ("radically", LARGE), ("substantially", LARGE),
    ("noticeably", LARGE), ("properly", LARGE),
)
#: Note-wide words asking for the change not to be obvious.
SUBTLE = tuple(compile_phrase(p) for p in (
    "don't make it [too]? [obvious|noticeable|heavy]", "do not make it [too]? [obvious|noticeable]",
    "without being [too]? [obvious|noticeable]", "without making it [too]? [obvious|noticeable]", "not [too]? obvious", "barely noticeable",
    "barely audible", "under the surface", "in the background", "hidden", "sneak*", "hint of", "subliminal*",
    "nobody should notice", "so nobody notices"))

#: Words that negate what follows.
NEGATORS = frozenset("""not no never don't dont doesn't doesnt isn't isnt aren't arent wasn't shouldn't shouldnt
mustn't can't cant won't nor without didn't""".split())
#: Words that ask for less of what follows (or precedes: "turn the top end down").
REDUCERS = tuple(compile_phrase(p) for p in (
    "less", "fewer", "reduce", "reduced", "cut", "cutting", "tame", "lower", "lowered", "pull [back|down]?",
    "roll off", "roll [back|down]?", "shelve off", "shelve", "scoop", "remove", "get rid of", "clear out", "clean up",
    "clean out", "lose", "kill", "take out", "take away", "turn down", "tone down", "dial [back|down]", "back off",
    "minus", "drop", "dip", "notch", "trim", "soften", "decrease", "dull", "duck", "drain", "suck out", "attenuate",
    "filter out", "high pass", "get the", "no more", "not so much", "not as much"))
#: Words that ask for more of what follows.
BOOSTERS = tuple(compile_phrase(p) for p in (
    "more", "add", "added", "adding", "boost", "increase", "raise", "bring [up|out|in]?", "push", "open up", "lift",
    "extra", "enhance", "give [it]? [some|more]?", "need*", "want*", "wouldn't mind", "would not mind",
    "don't mind", "turn up", "dial up", "crank", "emphasi*", "accentuate", "fatten", "beef up", "pump up"))
#: Particles after a region or pronoun that reverse or confirm it ("pull them back", "bring it up").
AFTER_DOWN = frozenset({"down", "back", "off", "out", "away"})
AFTER_UP = frozenset({"up"})
#: Words describing a state (a complaint when nothing is requested): "it's muddy", "sounds thin".
STATE = frozenset("""it's its is are was feels feel sounds sound seems seem looks there's theres gets getting
comes""".split())
#: Words of a request: with them a quality asks for itself ("make it warmer").
REQUEST = frozenset("""make more less need needs needed should could would want wants please let bring add go try can
give push pull turn cut boost raise lower take tame open roll scoop shelve tighten drop lift modulate transpose
shift put fade keep widen narrow i'd like get lose kill skip extend repeat double""".split())
#: Praise words: a clause of praise asks for nothing.
PRAISE = frozenset("""love loved like great nice perfect works good beautiful lovely amazing brilliant fantastic
awesome spot nailed gorgeous stunning excellent""".split())
#: Words between a modifier and its quality that do not break the link ("make it feel more …").
FILLER = frozenset("""it it's its the a an to be feel feels feeling sound sounds get getting make making want
wanted need needs needed let so as too that this quite just even way much bit little more any is are of
overall whole thing everything stuff some of up please i we you really could would should can seem
seems rather kind sort look looks""".split())

#: Interval words → semitones.
INTERVALS: tuple[tuple[str, float], ...] = (
    ("semitone*", 1), ("half step*", 1), ("half tone", 1), ("halftone", 1), ("half a step", 1), ("minor second", 1),
    ("whole step*", 2), ("whole tone", 2), ("full step", 2), ("tone", 2), ("step", 2), ("major second", 2),
    ("minor third", 3), ("major third", 4), ("third", 3), ("fourth", 5), ("perfect fourth", 5), ("tritone", 6),
    ("fifth", 7), ("perfect fifth", 7), ("octave", 12),
)
#: Number words (and "a couple of") → values.
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
           "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "couple": 2, "few": 3, "half": 0.5}

#: Hold objects: words after "keep", "same", "don't change" … → (dimension, part).
HOLD_OBJECTS: tuple[tuple[str, str], ...] = (
    ("tempo", "pace"), ("speed", "pace"), ("pace", "pace"), ("bpm", "pace"), ("groove", "pace"), ("time", "pace"),
    ("key", "key"), ("pitch", "key"), ("tuning", "key"),
    ("length", "length"), ("duration", "length"), ("runtime", "length"), ("timing", "length"),
    ("level", "loudness"), ("loudness", "loudness"), ("volume", "loudness"), ("gain", "loudness"),
    ("dynamics", "dynamics"), ("dynamic range", "dynamics"), ("peaks", "peaks"), ("peak", "peaks"),
    ("reverb", "reverb"), ("ambience", "reverb"), ("sparkle on top", "top"), ("sparkle", "top"), ("top end", "top"), ("top", "top"),
    ("highs", "top"), ("air", "air"), ("low end", "low_end"), ("bottom end", "low_end"), ("width", "width"),
    ("stereo image", "width"), ("image", "width"), ("brightness", "brightness"), ("warmth", "warmth"),
    ("energy", "energy"), ("punch", "punch"), ("clarity", "clarity"), ("vocal clear", "clarity"),
    ("lead clear", "clarity"), ("lead clean", "clarity"),
)
