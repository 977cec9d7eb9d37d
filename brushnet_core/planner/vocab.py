"""Word lists for the rule-based planner (our own lists, written for photo-editing instructions).

They serve three purposes: typo correction (a word is only corrected towards these lists), telling a
noun phrase from noise ("umbrella in her hand" vs "asdfgh"), and sorting describing words into kinds
so captions read well ("a green bicycle", not "a green blue bicycle").
"""
from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in text.split() if w)


#: Things people add, remove or change in photos (singular forms; plurals are derived).
NOUNS = _words("""
person people man men woman women guy guys girl girls boy boys kid kids child children baby babies
lady ladies gentleman adult teen teenager tourist tourists crowd couple family friend friends
bride groom soldier police officer worker player athlete photographer photobomber pedestrian
passerby passersby stranger strangers model face head hair hairstyle beard mustache moustache eye eyes
eyebrow nose mouth lip lips ear ears cheek chin neck shoulder arm arms hand hands finger fingers leg legs
foot feet skin tattoo tattoos scar scars wrinkle wrinkles freckle freckles blemish blemishes pimple
pimples acne mole makeup lipstick smile teeth tooth forehead
dog dogs puppy puppies cat cats kitten kittens bird birds parrot owl eagle pigeon pigeons seagull duck ducks
goose swan chicken hen rooster horse horses pony cow cows sheep lamb goat pig deer fox wolf bear lion
tiger leopard cheetah zebra giraffe elephant monkey gorilla rabbit bunny squirrel mouse rat hamster
fish shark whale dolphin turtle frog snake lizard dinosaur dragon unicorn butterfly butterflies bee bees
insect insects spider fly flies mosquito ant ants animal animals pet pets fur mane tail wings feather
car cars truck trucks van bus buses taxi bike bikes bicycle bicycles motorcycle motorbike scooter
skateboard boat boats ship ships yacht sailboat canoe kayak plane airplane jet helicopter drone rocket
train tram tractor trailer rack roof wheel wheels tire tires vehicle vehicles license plate spaceship ufo
house houses building buildings tower towers skyscraper church castle bridge bridges barn cabin hut
tent fence fences gate wall walls door doors window windows roof chimney balcony stairs staircase
steps porch garage column pillar statue fountain monument sign signs billboard poster posters banner
flag flags pole poles lamppost lamp post streetlight street light traffic light hydrant bench benches
mailbox trash can bin bins garbage rubbish litter dumpster cone cones barrier wire wires cable cables
power line lines antenna satellite dish
tree trees bush bushes shrub plant plants flower flowers rose roses tulip tulips sunflower daisy lily
grass lawn leaf leaves branch branches log rock rocks stone stones pebble sand mud dirt snow ice water
puddle wave waves cloud clouds sun moon star stars rainbow lightning smoke fire flame flames fog mist
sky mountain mountains hill hills field fields lake pond river sea ocean beach island waterfall forest
volcano cliff cave desert road street path sidewalk driveway parking track
table tables chair chairs sofa sofas couch couches bed beds pillow pillows cushion cushions blanket
rug carpet curtain curtains shelf shelves bookshelf cabinet drawer desk lamp lamps chandelier candle
candles clock clocks mirror mirrors painting paintings picture frame frames vase vases pot pots plant
tv television screen monitor laptop computer keyboard phone smartphone tablet camera speaker radio
book books magazine newspaper paper papers pen pencil notebook bag bags backpack suitcase box boxes
basket bucket toy toys ball balls balloon balloons kite doll teddy bear robot sticker stickers logo
logos watermark text caption subtitle label labels writing lettering letters graffiti stain stains scratch scratches
crack cracks dust spot spots reflection reflections shadow shadows glare date stamp timestamp
cup cups mug mugs glass glasses bottle bottles can cans jar plate plates bowl bowls spoon spoons fork
forks knife knives chopsticks tray food cake cakes pizza burger sandwich bread fruit fruits apple apples
orange oranges banana bananas pear pears grape grapes strawberry strawberries lemon lemons cherry
cherries watermelon vegetable vegetables carrot carrots tomato tomatoes coffee tea wine beer juice milk
ice cream cookie cookies candy chocolate egg eggs cheese salad soup steak
hat hats cap caps helmet crown tiara headband scarf scarves tie bow necklace earring earrings ring rings
bracelet watch sunglasses glasses goggles mask masks glove gloves shirt shirts tshirt t-shirt blouse
sweater hoodie jacket jackets coat coats suit suits dress dresses gown skirt pants trousers jeans shorts
shoe shoes boot boots sneakers sandals heels sock socks belt uniform outfit costume apron vest cape
umbrella umbrellas purse wallet jewelry jewellery collar leash
guitar piano violin drum drums microphone trophy medal sword gun shield wand flower crown
fireplace stove oven fridge refrigerator sink bathtub toilet shower towel towels microwave kettle
cage nest web hole holes bubble bubbles confetti fireworks firework lantern lanterns garland
""")

#: People and animals: after removing something from one, the caption names just them ("a dog").
LIVING = _words("""
person people man men woman women guy guys girl girls boy boys kid kids child children baby babies lady ladies
bride groom model dog dogs puppy cat cats kitten bird parrot duck horse cow sheep goat pig deer fox wolf bear
lion tiger monkey rabbit bunny squirrel hamster fish animal pet
""")

#: Words that name the whole picture (a change to these is a global edit).
PICTURE_WORDS = _words("image photo photograph picture pic pics shot frame scene painting snapshot selfie "
                       "portrait view everything whole entire thing all it this")

#: Places that a subject can be put into (a destination => background edit).
PLACES = _words("""
beach beaches forest woods jungle desert city cities town village street streets road park garden field
meadow mountain mountains hills countryside farm lake river sea ocean island islands moon mars space
galaxy universe stars sky clouds studio room office kitchen library cafe restaurant bar classroom
church castle palace stadium arena stage museum gallery airport station subway harbor harbour port
waterfall volcano cave underwater snow snowfield glacier arctic antarctica savanna rainforest
paris london tokyo rome york venice dubai egypt hawaii japan italy france china india africa
mall market square plaza garage parking lot backyard yard rooftop bridge highway racetrack track pool swamp canyon valley
""")

#: Surfaces and rooms: after removing something from one, the caption says "an empty <place>".
SURFACES = _words("table desk floor sofa couch bench bed shelf counter ground lawn grass field beach road "
                  "street sidewalk room sky lake pond water sea river yard driveway stage")

COLORS = _words("""
red green blue yellow orange purple violet pink white black grey gray brown beige gold golden silver
navy teal turquoise cyan magenta maroon crimson scarlet lime olive cream ivory tan bronze copper
blonde blond brunette ginger lavender lilac mint peach coral khaki charcoal emerald ruby sapphire
dark light pale bright pastel neon rainbow multicolored colorful colourful transparent
""")

MATERIALS = _words("""
leather wooden wood wool woolen cotton silk velvet denim linen lace glass metal metallic steel iron
copper brass bronze gold golden silver marble stone brick concrete plastic paper cardboard rubber
ceramic porcelain crystal diamond ice chocolate fur furry fluffy knitted woven bamboo straw
""")

#: Describing words grouped by what they describe; a new word replaces old ones of its group.
ADJECTIVE_GROUPS: dict[str, frozenset[str]] = {
    "color": COLORS,
    "material": MATERIALS,
    "age": _words("old young new newer older younger ancient modern vintage elderly aged"),
    "size": _words("big bigger small smaller large larger tiny huge giant tall taller short shorter long "
                   "longer wide wider thin thinner fat fatter"),
    "pattern": _words("striped stripy plaid checkered spotted dotted polka floral plain patterned"),
    "state": _words("wet dry clean dirty broken rusty shiny matte glossy happy sad angry smiling open closed"),
}
ADJECTIVES = frozenset().union(*ADJECTIVE_GROUPS.values()) | _words(
    "cute pretty beautiful ugly nice fancy elegant cool scary realistic fluffy cozy wild pink round square "
    "brighter darker lighter warmer cooler sharper softer curly straight wavy bald hairy lil little")

#: Global edits: the kind of change -> the words that signal it.
SEASONS = _words("winter summer autumn fall spring springtime wintertime summertime")
WEATHER = _words("rain rainy raining rainstorm snow snowy snowing snowfall fog foggy mist misty haze hazy "
                 "storm stormy thunderstorm sunny sunshine cloudy overcast windy")
TIMES = _words("golden-hour blue-hour magic-hour night nighttime midnight evening dusk dawn sunrise sunset twilight daytime day morning noon "
               "afternoon")
TONES = _words("""
bright brighter brighten darker darken dark dim warm warmer cool cooler cold colder moody moodier
dramatic cinematic vintage retro sepia monochrome grayscale greyscale desaturate desaturated saturate
saturated saturation vivid vibrant contrast exposure hdr faded muted pastel lighting light tone tones
toned colors colours colour color grading grain grainy film noir polaroid lomo vibe vibes mood
atmosphere aesthetic filter blur blurry sharp sharper sharpen soft softer glow glowing neon
""")
STYLES = _words("""
style painting painted paint oil watercolor watercolour acrylic sketch sketched drawing drawn pencil
charcoal ink cartoon cartoony anime manga comic pixel art lego claymation 3d render rendering cgi
illustration illustrated impressionist impressionism expressionist cubist cubism surreal surrealist
pop-art popart renaissance baroque gothic steampunk cyberpunk vaporwave synthwave fantasy sci-fi
ghibli disney pixar gogh monet picasso dali rembrandt vermeer warhol hokusai ukiyo-e mosaic stained
graffiti-style lowpoly low-poly papercut origami woodcut engraving pastel crayon chalk doodle
""")
GLOBAL_WORDS = SEASONS | WEATHER | TIMES | TONES | STYLES

#: The verbs and particles the rules understand (typos are corrected towards these).
EDIT_VERBS = _words("""
remove delete erase eliminate get take clear wipe cut drop lose ditch nuke kill hide scrap strip
zap pull throw move rid add insert include put place stick attach draw paint give let make turn
change convert transform replace swap switch color colour recolor recolour dye render apply set
bring send teleport transport blur brighten darken desaturate sharpen saturate enhance stylize
stylise colorize colourise colorise want need like love have clean fill show mirror flip rotate keep
""")
PARTICLES = _words("out off away in into onto on of from with to for behind under over")

#: English words that are not nouns (never corrected, and they mark a sentence as English).
FUNCTION_WORDS = _words("""
a an the this that these those his her hers him he she it its they them their theirs we us our you your
i me my mine some any all every each no not none more less few many much several both either neither
one two three four five six seven eight nine ten second first third last other another same such
and or but so then also too as than if because while when where which who whom whose what why how
is are was were be been being am do does did done doing have has had having can could would should
will shall may might must ought need needs please pls plz thanks thank thx hey hi hello ok okay yes
just only really very quite a bit little lot lots bit kind sort of to in on at by for from with
without into onto over under above below behind between near next beside around through across
instead here there now again still maybe perhaps like look looks looking seem appear go gone going
don't dont doesn't didn't won't can't cannot shouldn't wouldn't isn't aren't i'd i'm i'll let's
rather better sure wanna gonna gotta outta up down left right top bottom middle center centre corner
side front back background backdrop foreground whole entire
""")

#: Frequent function words of other languages written in Latin script (words that are also common
#: English words, like "a", "die", "den", "chat" or "con", are left out).
FOREIGN_WORDS = _words("""
de el la los las del al y un una unos unas por para que quita quitar pon poner añade agrega
elimina borra borrar cambia cambiar haz hazlo perro gato coche cielo fondo sombrero es muy
le les des du au aux une et avec sur dans enlève enleve ajoute supprime remplace mets fais chien
voiture ciel chapeau est très
der das dem des ein eine einen einem und mit auf im vom zum zur entferne entfernen füge hinzu mach
mache ändere ersetze hund katze himmel hintergrund ist sehr
il lo gli della dello nel rimuovi aggiungi cambia togli metti rendi gatto macchina cielo sfondo
o os um uma uns umas da dos das com remova remover adicione coloque mude cachorro carro céu
het een en verwijder voeg toe maak vervang hond kat lucht achtergrond
""")

#: Greetings and chat that are not an edit on their own.
CHAT_ONLY = _words("hello hi hey thanks thank thx ok okay yes no lol lmao haha hmm test testing cool nice "
                   "great awesome wow please pls help")
