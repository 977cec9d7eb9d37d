"""Word lists and small regexes the readers share: determiners, pronouns, mass nouns, prepositions, slang."""
from __future__ import annotations

import re

from ..vocab import PICTURE_WORDS


_DET = r"(?:the|a|an|this|that|these|those|his|her|their|its|my|our|your|some|any|all(?: of)?(?: the)?|every|each)"
_DET_RE = re.compile(rf"^(?:{_DET}\s+)+", re.I)
_QUANT_RE = re.compile(r"^(?:a (?:few|couple of|bunch of|lot of|little bit of)|lots of|plenty of|some more|more|"
                       r"another|one of the|a little|few|several|many|couple of)\s+")
_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "a pair of"}
_PRONOUN_PERSON = {"him": "man", "he": "man", "her": "woman", "she": "woman", "them": "people", "they": "people",
                   "us": "people", "we": "people", "me": "person", "myself": "person", "i": "person"}
_DET_WORDS = {"the", "a", "an", "this", "that", "these", "those", "his", "her", "their", "its", "my", "our", "your",
              "some", "all", "every", "each"}
_PRONOUN_OBJECT = {"whatever", "everything", "anything", "something", "stuff", "things", "whatever it is",
                   "all that", "all this", "it", "them", "that", "this", "those", "these", "this one", "that one", "one", "thing", "stuff"}
_GLOBAL_TARGET_WORDS = PICTURE_WORDS | {
    "lighting", "light", "lights", "colors", "colours", "color", "colour", "tones", "tone", "mood", "atmosphere",
    "weather", "season", "time", "day", "daytime", "vibe", "vibes", "look", "feel", "contrast", "exposure",
    "saturation", "brightness", "style", "photo's", "image's", "picture's", "everything's", "world", "palette"}
_BG = r"(?:background|backdrop|bg|back ground|scenery|surroundings|backgrounds|location|setting|environment)"
_BG_RE = re.compile(rf"\b{_BG}\b")
_MASS = {"hair", "fur", "grass", "sand", "water", "snow", "coffee", "tea", "milk", "juice", "wine", "beer", "ice",
         "smoke", "fog", "mud", "dirt", "skin", "makeup", "bread", "cheese", "chocolate", "wood", "metal", "gold",
         "silver", "leather", "graffiti", "text", "writing", "litter", "garbage", "rubbish", "trash", "dust", "rain",
         "fire", "light", "lighting", "space", "jewelry", "jewellery", "lipstick", "confetti", "glare", "acne"}
_SEPARATE_PREPS = ("next to", "close to", "in front of", "on top of", "out of", "away from", "instead of", "all over",
                   "from", "in", "on", "at", "to", "into", "onto", "with", "by", "near", "behind", "beside",
                   "under", "underneath", "over", "above", "below", "around", "off", "inside", "outside", "across",
                   "along", "against", "between", "among", "through", "atop", "within", "beneath")
_STOP_WORDS = ("so", "and", "but", "because", "that", "which", "who", "while", "for", "please", "instead", "too",
               "here", "there", "anymore", "again", "now", "completely", "entirely", "as", "if", "when", "where",
               "coming", "flying", "sitting", "standing", "lying", "laying", "hanging", "floating", "swimming",
               "walking", "running", "perched", "holding", "wearing", "looking", "so that", "then", "also",
               "asap", "thanks", "pls", "altogether", "totally", "is", "are", "was", "be", "she", "he", "they", "we",
               "you", "i", "it's", "which's", "who's", "except", "excluding", "other than", "apart from")
_PREP_RE = "|".join(re.escape(p) for p in _SEPARATE_PREPS)
_PICTURE_LOC = re.compile(r"^(?:the |this |that |my |our )?(?:image|photo|photograph|picture|pic|shot|frame|scene|"
                          r"painting|selfie|snapshot|view)\b")

_SLANG = {
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "plx": "please", "thx": "thanks", "ty": "thanks",
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "wont": "won't",
    "shouldnt": "shouldn't", "wouldnt": "wouldn't", "isnt": "isn't", "arent": "aren't", "im": "i'm",
    "ive": "i've", "wanna": "want to", "gotta": "got to", "gonna": "going to", "outta": "out of",
    "bg": "background", "pic": "picture", "pics": "pictures", "pix": "pictures", "img": "image",
    "mans": "man's", "womans": "woman's", "childs": "child's", "guys'": "guy's", "n": "and", "tho": "though",
    "thru": "through", "abt": "about", "rn": "now", "w": "with", "b&w": "black and white", "bw": "black and white",
    "colour": "color", "colours": "colors", "grey": "grey", "recolour": "recolor", "wanna've": "want to have",
    "tshirt": "t-shirt", "tee": "t-shirt", "teeshirt": "t-shirt", "rm": "remove", "del": "delete",
}
