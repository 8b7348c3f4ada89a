"""The bundled sample crawl: a small Common Crawl-like WARC file generated from this module's own text.

`finemill run` with no arguments needs a crawl to work on, and we do not ship third-party web pages.
So the sample is written here, deterministically (fixed seed, fixed WARC dates and record ids: the same
bytes on every run), from hand-written banks of sentence templates combined with a seeded RNG.

The pages are chosen so that every step of the FineWeb recipe has something to remove
(tests/test_sample.py runs datatrove's own blocks over the file and checks it):

======================================  ============================================================
category                                first removed by
======================================  ============================================================
blocklisted_url                         URLFilter: domains, subdomains and banned words from
                                        datatrove's bundled lists (the pages themselves are tame)
boilerplate_only                        Trafilatura when there is no text at all (app shells,
                                        galleries, embeds); the later filters when menus, buttons
                                        and prices leak through (login forms, consent walls, grids)
very_short                              LanguageFilter or GopherRepetitionFilter (a few words)
foreign_language                        LanguageFilter (de, fr, es, it, nl, pt, pl)
repetitive, keyword_stuffed             GopherRepetitionFilter (duplicated lines, top 2-grams)
low_quality                             GopherQualityFilter (too few words, hashtags, ellipses,
                                        tables of numbers)
lorem_ipsum, code_like, few_sentences   C4QualityFilter (lorem ipsum, "{", fewer than 5 sentences)
list_like, verse, duplicated_lines      FineWebQualityFilter (lines without punctuation, short
                                        lines, characters in duplicated lines)
exact_duplicate, near_duplicate         MinHash (a copy of a good article: one of each pair goes)
good, good_with_pii, good_windows_1252  nothing: the articles the recipe keeps (PII scrubbing
                                        rewrites the emails and public IPs of good_with_pii)
non_html                                the reader (image/png and application/pdf responses)
======================================  ============================================================

The file also holds what real crawl files hold besides pages: a warcinfo record, request and metadata
records, records without WARC-Identified-Payload-Type (the reader must sniff them), and a page encoded
in windows-1252.

    python -m finemill.demo.crawl OUT.warc.gz
"""

from __future__ import annotations

import hashlib
import html
import io
import ipaddress
import json
import random
import re
import struct
import sys
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

CRAWL_START = datetime(2024, 4, 12, 6, 0, 0, tzinfo=timezone.utc)
CRAWLER_USER_AGENT = "CCBot/2.0 (https://commoncrawl.org/faq/)"
WARC_FIELDS = "application/warc-fields"

# How many pages of each kind. ~45% of the HTML pages are good articles that survive the whole recipe.
CATEGORY_COUNTS = {
    "good": 138,
    "good_with_pii": 12,
    "good_windows_1252": 1,
    "exact_duplicate": 10,
    "near_duplicate": 14,
    "foreign_language": 42,
    "blocklisted_url": 16,
    "boilerplate_only": 18,
    "very_short": 8,
    "repetitive": 10,
    "keyword_stuffed": 6,
    "low_quality": 12,
    "lorem_ipsum": 6,
    "code_like": 6,
    "few_sentences": 6,
    "list_like": 5,
    "verse": 5,
    "duplicated_lines": 8,
}

# ---------------------------------------------------------------------------------------------------
# Text banks. Templates use {slots} (a topic's own, or the shared ones below) and [alternative|words];
# a random choice every few words keeps two articles built from the same templates far apart for MinHash.
# ---------------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Alice", "Ben", "Chloe", "Daniel", "Eleanor", "Farid", "Grace", "Hugo", "Isla", "James", "Keiko",
    "Liam", "Maria", "Nadia", "Oliver", "Priya", "Quentin", "Rosa", "Samuel", "Tara", "Umar", "Vera",
    "William", "Yusuf", "Zoe", "Tomasz", "Aoife", "Marcus", "Helen", "Ravi",
)
LAST_NAMES = (
    "Anderson", "Bennett", "Carter", "Doyle", "Evans", "Fischer", "Gupta", "Hughes", "Ibrahim", "Jensen",
    "Kowalski", "Lambert", "Moreno", "Nakamura", "O'Neill", "Patel", "Quinn", "Rossi", "Schmidt",
    "Thompson", "Usman", "Varga", "Walsh", "Young", "Zhang", "Okafor", "Lindqvist", "Murphy", "Clarke",
    "Haddad",
)
SHARED_SLOTS: dict[str, tuple[str, ...]] = {
    "city": (
        "Lisbon", "Edinburgh", "Kraków", "Porto", "Bologna", "Seville", "Ghent", "Ljubljana", "Valencia",
        "Bristol", "Copenhagen", "Dublin", "Marseille", "Vienna", "Tallinn", "Bergen", "Lyon", "Glasgow",
        "Toronto", "Melbourne", "Kyoto", "Montreal", "Prague", "Budapest", "Leeds", "Cork", "Hamburg",
        "Naples", "Oslo", "Galway",
    ),
    "month": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "count": ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve"),
    "number": tuple(str(n) for n in (35, 48, 60, 75, 90, 120, 140, 180, 240, 310, 450, 620, 800, 1200)),
    "percent": ("12", "18", "22", "27", "30", "35", "40", "45"),
    "year_old": tuple(str(y) for y in range(1838, 1896, 3)),
}


@dataclass(frozen=True)
class Topic:
    """Everything needed to write an article on one subject."""

    name: str
    section: str
    titles: tuple[str, ...]
    headings: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    sentences: tuple[str, ...]


TOPICS = (
    Topic(
        name="cooking",
        section="recipes",
        titles=("How to make {dish} on a weeknight", "The only {dish} recipe you will ever need", "{dish}: a family favourite, step by step", "What I learned cooking {dish} every week for a month", "A simpler way to cook {dish}"),
        headings=("Why this recipe works", "Choosing your ingredients", "Getting the timing right", "Serving suggestions", "Storing the leftovers", "Common mistakes to avoid", "Making it ahead"),
        slots={
            "dish": ("lemon chicken traybake", "mushroom risotto", "slow-cooked beef ragu", "spiced lentil soup", "roast vegetable lasagne", "miso glazed salmon", "sweet potato curry", "buttermilk pancakes", "chickpea and spinach stew", "garlic prawn linguine"),
            "ingredient": ("smoked paprika", "fresh thyme", "a knob of butter", "toasted cumin seeds", "grated parmesan", "a splash of white wine", "brown miso paste", "chopped parsley", "a squeeze of lime", "crushed garlic"),
            "tool": ("a heavy cast iron pan", "a large casserole dish", "a sharp chef's knife", "a sturdy baking tray", "a digital thermometer", "a wide frying pan"),
            "minutes": ("ten", "fifteen", "twenty", "twenty-five", "forty", "forty-five"),
            "texture": ("glossy and thick", "golden at the edges", "tender but not mushy", "crisp on the outside", "silky and smooth", "deeply caramelised"),
            "side": ("a crisp green salad", "warm crusty bread", "steamed basmati rice", "buttered new potatoes", "roasted broccoli", "a bowl of garlicky greens"),
        },
        sentences=(
            "The first time I [cooked|made|tried] {dish}, I was [feeding|cooking for] {count} hungry [friends|guests|neighbours] and had nothing but {tool} and a [bit|good deal] of optimism.",
            "[Start|Begin] by [warming|heating] {tool} over a [medium|moderate] heat, then add {ingredient} and let it [sizzle gently|cook quietly] for [a minute or two|a couple of minutes].",
            "Most recipes [tell you to rush|hurry you through] this stage, but giving it an [extra|additional] {minutes} minutes is [what makes|the secret to making] the sauce {texture}.",
            "If you cannot [find|get hold of] {ingredient}, then {ingredient} [works nearly as well|is a fine substitute] and is [easier to track down|often cheaper too].",
            "My [grandmother|aunt|old neighbour] in {city} always [insisted|claimed] that {dish} tastes better the [next|following] day, and she was [usually|almost always] right.",
            "Taste as you go and [adjust|correct] the seasoning, because [the amount of salt you need|how much salt to add] depends on how salty {ingredient} [is|turns out to be].",
            "Once everything is {texture}, [take|lift] the pan off the heat and let it [rest|sit] while you [prepare|make] {side}.",
            "We tested this version {count} times in our [kitchen|test kitchen], changing [only one thing|a single detail] at a time so we could [see|work out] what [mattered|made the difference].",
            "Serve it with {side} and a [glass of something cold|pot of tea|jug of sparkling water], and [nobody|no one] at the table will ask what else is for [dinner|supper].",
            "Leftovers keep [well|happily] in the fridge for up to {count} days, and the flavour [deepens|improves] as the [spices|herbs] [settle in|mellow].",
            "A reader [named|called] {name} [wrote to tell us|let us know] that adding {ingredient} at the [end|last minute] [brightened|lifted] the whole dish.",
            "Do not be tempted to [crowd|overfill] the pan, since the vegetables will steam instead of [browning|colouring] and you will [lose|miss] that {texture} finish.",
            "The whole thing takes [about|roughly] {minutes} minutes from start to finish, which makes it [ideal|perfect] for a [busy|tired|rainy] {weekday} evening.",
            "For a vegetarian version, [swap|replace] the meat [for|with] [mushrooms|lentils|chickpeas] and use a good vegetable stock [instead of|rather than] chicken stock.",
            "You can double the quantities without [much|any real] trouble, although you will need {tool} [large|big] enough to hold everything.",
            "Children who [normally|usually] refuse anything green have been known to ask for [second helpings|more] of {dish}, which says [a lot|plenty].",
            "I learned this [trick|idea] from a [chef|cook] in {city} who [cooked|served] {dish} for {number} guests every {weekday} without breaking a sweat.",
            "A pinch of sugar [balances|softens] the acidity of the tomatoes, though {ingredient} can do the same job with [more character|a little more personality].",
        ),
    ),
    Topic(
        name="travel",
        section="travel",
        titles=("Three days in {city}: where to eat, sleep and wander", "A slow travel guide to {city}", "Getting around {city} without a car", "What nobody tells you about visiting {city}", "A long weekend in {city} on a modest budget"),
        headings=("Getting there", "Where to stay", "What to eat", "A perfect first morning", "Day trips worth taking", "Practical tips", "When to go"),
        slots={
            "place": ("the old harbour", "the cathedral square", "the hillside vineyards", "the covered market", "the riverside promenade", "the botanical garden", "the fishing villages along the coast", "the medieval quarter"),
            "transport": ("the night train", "a regional bus", "a rented bicycle", "the early ferry", "a shared taxi", "the local tram"),
            "meal": ("grilled sardines", "a bowl of noodle soup", "fresh pastries", "a plate of local cheeses", "slow-cooked lamb", "a bowl of mussels"),
            "season": ("late spring", "early autumn", "the shoulder season", "midsummer", "early winter"),
        },
        sentences=(
            "We arrived in {city} on {transport} just after [dawn|sunrise], when the streets were still quiet and the [cafés|bakeries] were only [beginning|starting] to open.",
            "The best way to [understand|get to know] the city is to walk from {place} to {place} without a map and let yourself get [a little|slightly|happily] lost.",
            "Prices [rise sharply|climb quickly] in the summer months, so we would [recommend|suggest] visiting in {season} when the crowds have [thinned|gone home].",
            "Our guide, a retired [teacher|engineer|postman] called {name}, knew the story behind [almost|nearly] every [doorway|street corner] we passed.",
            "Lunch was {meal} eaten on a [wooden bench|harbour wall|shady step], and it cost less than a [cup of coffee|sandwich] back home.",
            "Taking {transport} out to {place} is cheap, [reliable|easy] and far more [pleasant|relaxing] than sitting in traffic.",
            "Book your [accommodation|room] at least {count} weeks ahead if you [plan to travel|are visiting] during a public holiday.",
            "Many [museums|galleries] are closed on {weekday}, which is worth [remembering|knowing] before you plan your [itinerary|days].",
            "In the evening, locals [gather|meet] around {place} to talk, argue about [football|politics] and share {meal}.",
            "The tourist office near the station hands out free maps, but the staff are even more useful for [honest|frank] [restaurant|café] advice.",
            "If you only have one free [afternoon|morning], spend it at {place} and save the [shopping|museums] for another trip.",
            "We spent [roughly|about] {number} euros over three days, not counting the [train|bus] tickets, which felt reasonable for a city of this size.",
            "It rained for most of our second day, so we [ducked|escaped] into small galleries and bookshops that we would [otherwise|probably] have missed.",
            "The walk back along {place} at sunset was the moment we [both|quietly] decided we would return to {city} [one day|before long].",
            "Pack comfortable shoes, because the cobbled streets are [beautiful|charming] but [unforgiving|hard] on tired feet.",
            "A weekly pass for {transport} paid for itself within [two|three] days and saved us from [counting coins|fumbling for change] at every stop.",
            "Our host, {name}, had lived in {city} all her life and still found new corners to [explore|discover] every {month}.",
            "The queue for {meal} at the corner stall was long, yet it moved [quickly|steadily] and the wait was part of the [fun|experience].",
        ),
    ),
    Topic(
        name="gardening",
        section="gardening",
        titles=("Growing {plant} in a small garden", "A beginner's guide to {plant}", "What to do in the garden this {month}", "How I finally stopped {pest} eating my {plant}", "Lessons from a wet summer on the allotment"),
        headings=("Preparing the soil", "Sowing and planting", "Watering and feeding", "Dealing with pests", "Harvesting", "Jobs for next month", "What went wrong"),
        slots={
            "plant": ("tomatoes", "runner beans", "sweet peas", "courgettes", "lavender", "dahlias", "garlic", "strawberries", "climbing roses", "salad leaves"),
            "pest": ("slugs", "aphids", "vine weevils", "cabbage white caterpillars", "pigeons"),
            "soil_fix": ("a thick layer of compost", "well-rotted manure", "leaf mould", "a handful of grit", "a mulch of bark chippings"),
            "task": ("pruning", "deadheading", "sowing seeds", "dividing perennials", "planting bulbs", "watering"),
        },
        sentences=(
            "Last year my {plant} [struggled|sulked] through a cold, wet {month}, so this season I started them off indoors on a [sunny|bright] windowsill.",
            "Before planting, dig in {soil_fix} to [improve|help] drainage and give young roots something to [grow into|get hold of].",
            "At this time of year {pest} are the main [enemy|problem], and a torch-lit patrol after dark is still the most [reliable|effective] defence.",
            "My neighbour {name} has grown {plant} on the same [allotment|plot] for over {count} decades and [swears by|relies on] {soil_fix}.",
            "Water [deeply|thoroughly] once or twice a week rather than a little every day, as shallow watering [encourages|leads to] weak roots.",
            "Time spent {task} now will reward you with [stronger|healthier] growth and far more [flowers|fruit] later in the [summer|season].",
            "If space is tight, {plant} grow [surprisingly|remarkably] well in large pots as long as they never dry out [completely|entirely].",
            "Keep a simple [notebook|diary] of what you sowed and when, because memory is [an unreliable|a forgetful] gardener.",
            "By the end of {month} the first {plant} were ready, and nothing from a shop has ever tasted [quite|half] as good.",
            "A cheap cold frame made from old windows has extended my growing season by [several|a few] weeks at [each end|both ends].",
            "Try not to tidy the borders too [thoroughly|early] in autumn, since hollow stems give shelter to [helpful|beneficial] insects over winter.",
            "Companion planting with [marigolds|nasturtiums] seemed to keep {pest} away from my {plant}, though the evidence is [anecdotal|far from scientific].",
            "Feed container plants with a liquid [fertiliser|feed] every {count} weeks once the first flowers [appear|open].",
            "The gardening club in {city} runs a seed swap each [spring|March], which is a [wonderful|cheap] way to try unusual varieties.",
            "Do not worry if a few plants fail, as every [disappointing|difficult] season teaches you something about your own soil.",
            "When {task}, use clean, sharp tools so that the cuts heal [quickly|cleanly] and disease has less chance to take hold.",
            "A retired farmer called {name} once told me that {plant} need patience more than they need [fertiliser|attention].",
            "The rain barrel by the shed collected about {number} litres last {month}, enough to water the whole [vegetable patch|garden].",
        ),
    ),
    Topic(
        name="history",
        section="history",
        titles=("The forgotten history of {building}", "How the {trade} shaped our town", "Life in {era}: what the records reveal", "Uncovering the story of {building}", "What {source} tell us about the past"),
        headings=("Early beginnings", "A time of change", "The people behind the story", "Decline and rediscovery", "What survives today", "Reading the evidence"),
        slots={
            "era": ("the late eighteenth century", "the Victorian period", "the years after the First World War", "the early medieval period", "the 1920s", "the Napoleonic wars"),
            "building": ("the old corn exchange", "the parish church", "the railway viaduct", "the town hall", "the abandoned textile mill", "the harbour lighthouse"),
            "source": ("parish registers", "bundles of letters", "old newspaper reports", "estate account books", "faded diaries", "council minutes"),
            "trade": ("wool merchants", "shipbuilders", "coal miners", "printers", "brewers", "lace makers"),
        },
        sentences=(
            "Few people who walk past {building} today [realise|know] that it once stood at the heart of a [busy|thriving] trading community.",
            "According to {source} held in the county archive, the first building on the site [dates from|goes back to] {era}.",
            "By the middle of the century, [nearly|almost] {number} families depended on the {trade} for their [living|income].",
            "Historians have long [debated|argued about] why the town declined so [quickly|suddenly], but the surviving [evidence|paperwork] points to several causes at once.",
            "One remarkable document, [found|unearthed] by a local researcher named {name}, describes a [fierce|bitter] dispute over water rights.",
            "The arrival of the railway in {year_old} transformed the economy [almost overnight|within a decade] and brought new workers from {city}.",
            "Life for ordinary workers in {era} was hard, with long hours, [crowded|damp] housing and very little protection from [illness|accidents].",
            "Much of what we know comes from {source}, which record births, marriages and the occasional scandal in [careful|elegant] handwriting.",
            "The {trade} formed a guild that [set|fixed] prices, trained apprentices and paid for the [upkeep|repair] of {building}.",
            "A fire in {year_old} destroyed most of the original timber structure, although the stone foundations [survived|were spared].",
            "Restoration work in the [1970s|1980s] uncovered painted beams and a sealed cellar that had been [forgotten|hidden] for generations.",
            "It is [tempting|easy] to romanticise the past, but the records also tell [stories|tales] of poverty, debt and [emigration|hunger].",
            "Visitors can still see the [original|weathered] carved date stone above the [main|north] entrance of {building}.",
            "Letters written by {trade} to relatives abroad give a [vivid|moving] picture of daily life and the price of bread.",
            "The local history society has [transcribed|digitised] {source} and made them freely available to anyone researching their [family|house].",
            "Understanding this history helps [explain|make sense of] why the streets around {building} are [laid out|arranged] the way they are.",
            "In {year_old} a census recorded {number} people living within a mile of {building}, most of them under [thirty|twenty-five].",
            "A great-granddaughter of one of the {trade}, {name}, still keeps his [tools|ledgers] in a [wooden|battered] chest in {city}.",
        ),
    ),
    Topic(
        name="programming",
        section="engineering",
        titles=("Lessons from debugging {problem}", "A practical introduction to {concept}", "Why our team moved to {language}", "Writing better tests with {tool}", "What {concept} taught me about simple code"),
        headings=("The problem", "A first attempt", "What actually worked", "Measuring the results", "Trade-offs", "What we would do differently"),
        slots={
            "language": ("Python", "Rust", "Go", "Kotlin", "Elixir", "Swift"),
            "tool": ("a profiler", "the debugger", "a linter", "property-based tests", "a code formatter", "continuous integration"),
            "problem": ("a slow database query", "a memory leak", "a race condition", "a flaky test", "an off-by-one error", "a deadlock in the worker pool"),
            "concept": ("dependency injection", "immutable data structures", "error handling", "structured logging", "caching", "pagination"),
        },
        sentences=(
            "Last {month} our team spent almost a week [chasing|hunting down] {problem} that only appeared under heavy load in production.",
            "The fix turned out to be [three|four] lines long, which is often the case once you finally understand what is [going on|happening].",
            "Running {tool} [early|earlier] in the process would have saved us a [great deal|lot] of time and [frustration|late nights].",
            "When we rewrote the service in {language}, the biggest improvement was not speed but how much easier the code became to [read|change].",
            "Good {concept} is less about clever tricks and more about making the [intent|purpose] of the code obvious to the next [person|reader].",
            "A colleague, {name}, suggested writing down every assumption we had made, and [two|three] of them turned out to be wrong.",
            "Benchmarks showed that response times [dropped|fell] by {percent} percent after the change, with no [increase|rise] in memory use.",
            "It is worth adding a regression test for every bug you fix, so that the same mistake cannot [quietly return|sneak back in] later.",
            "Many teams adopt {concept} because it is [fashionable|popular], but it only pays off when the codebase is [large|big] enough to need it.",
            "We now run {tool} on every pull request, and the number of issues reaching production has fallen [noticeably|sharply].",
            "Reading the source code of the [libraries|tools] you depend on is one of the [fastest|surest] ways to become a better engineer.",
            "The original design made sense when the system handled a few hundred requests a day, but it did not [scale|survive growth].",
            "Pair programming felt [slow|awkward] at first, yet it helped us spot {problem} before it ever reached a [customer|user].",
            "If you are new to {language}, start with a small command line tool rather than trying to rewrite an entire [application|product].",
            "Clear error messages are a [gift|kindness] to your future self, especially when something breaks at [three|four] in the morning.",
            "In the end, the most [valuable|useful] outcome was not the faster code but the shared understanding the team [built|gained] along the way.",
            "Our build now finishes in {count} minutes instead of twenty, thanks largely to {tool} and a [leaner|smaller] dependency tree.",
            "{name} gave a talk about {concept} at a meetup in {city}, and the questions afterwards were [better|sharper] than the slides.",
        ),
    ),
    Topic(
        name="finance",
        section="money",
        titles=("How to start saving for {goal}", "The simple budget that helped us afford {goal}", "Is {account} right for you?", "Small changes that cut our monthly bills", "What I wish I had known about money at twenty-five"),
        headings=("Where to begin", "Building a budget", "Cutting costs", "Saving and investing", "Avoiding common traps", "Staying motivated"),
        slots={
            "goal": ("an emergency fund", "a house deposit", "early retirement", "a family holiday", "paying off a student loan", "a new car"),
            "account": ("a high-interest savings account", "a workplace pension", "a low-cost index fund", "a fixed-term deposit", "a tax-free savings account"),
            "expense": ("takeaway meals", "unused subscriptions", "impulse purchases", "bank fees", "expensive coffee", "car repairs"),
        },
        sentences=(
            "When we sat down to look at our spending, we [discovered|realised] that {expense} were costing us more than {number} pounds a month.",
            "The first step towards {goal} is knowing [exactly|precisely] where your money goes, which means tracking every purchase for a [few|couple of] weeks.",
            "Financial planners [often|usually] suggest keeping three to six months of [essential|basic] expenses in {account} before investing elsewhere.",
            "Our reader {name} from {city} paid off a credit card balance in {count} months by following the [method|plan] described below.",
            "Interest rates have changed a [great deal|lot] over the past year, so it is worth checking whether your savings are [earning|working hard] enough.",
            "Cutting back on {expense} felt [difficult|painful] at first, but after a month we barely noticed the difference.",
            "Setting up an automatic transfer on payday means the money is [saved|put aside] before you have a chance to spend it.",
            "Putting money into {account} is [generally|usually] a long-term decision, and short-term swings in value should not cause [panic|alarm].",
            "It is [easy|tempting] to underestimate irregular costs such as birthdays, insurance renewals and {expense}.",
            "A simple spreadsheet with three columns for income, fixed costs and [flexible|everyday] spending is [often|usually] all you need.",
            "Before signing up for any financial product, read the [fees|small print] carefully and compare at least {count} alternatives.",
            "Many people find that saving becomes easier once they give each pot of money a [clear|specific] purpose, such as {goal}.",
            "Debt with the highest interest rate should [usually|normally] be repaid first, while making minimum payments on everything else.",
            "This article is for general information only, so please [speak|talk] to a qualified adviser about your own [situation|circumstances].",
            "Reviewing your budget every {month} helps you catch small leaks before they become [large|expensive] problems.",
            "The most important habit is consistency, because [modest|small] amounts saved regularly add up to [surprising|impressive] sums over time.",
            "By {month} we had set aside {number} pounds towards {goal}, which felt like a small [miracle|victory] at the time.",
            "{name}, a [teacher|nurse] in {city}, keeps a jar for loose change and uses it to pay for {expense} without [guilt|worry].",
        ),
    ),
    Topic(
        name="science",
        section="science",
        titles=("Scientists report {finding}", "What the discovery of {finding} means", "A closer look at new research in {field}", "Why {field} researchers are excited this year", "The slow, careful work behind a headline in {field}"),
        headings=("The discovery", "How the study worked", "What the experts say", "Limitations", "What happens next"),
        slots={
            "field": ("marine biology", "climate science", "astronomy", "neuroscience", "materials science", "genetics"),
            "finding": ("a new species of deep-sea coral", "an unusually bright supernova", "a protein linked to memory loss", "a cheaper way to store solar energy", "evidence of ancient river beds on Mars", "a bacterium that breaks down plastic"),
            "institution": ("a university research team", "the national space agency", "an international consortium", "a small independent laboratory", "researchers at the city hospital"),
        },
        sentences=(
            "Researchers announced on {weekday} that they had [identified|found] {finding}, a result that [surprised|puzzled] many in the field.",
            "The study, carried out by {institution}, involved more than {number} samples [collected|gathered] over several years.",
            "Dr {name}, who led the work, said the team had checked the results [repeatedly|again and again] before deciding to publish.",
            "Independent experts described the findings as [promising|intriguing] but cautioned that they still need to be [replicated|confirmed].",
            "Work in {field} often moves [slowly|carefully], and a single paper rarely settles a question on its own.",
            "The measurements were made using instruments that were not available even {count} years ago.",
            "If confirmed, the discovery could change how scientists think about {field} and open several new lines of [enquiry|research].",
            "Funding for the project came from a mix of public grants and [charitable foundations|private donors].",
            "One limitation of the study is that most of the data came from a single [region|site], which may not be typical.",
            "The team plans to share its full data set so that other groups can test the conclusions for themselves.",
            "Public interest in {field} has grown [steadily|quickly], helped by documentaries and accessible online lectures.",
            "Similar claims have been made before, so the scientific community will be watching closely for [follow-up|further] studies.",
            "According to the paper, the effect was strongest in samples collected during {month}, for reasons that remain [unclear|a mystery].",
            "Students working with {institution} helped with the fieldwork, gaining experience that few courses can offer.",
            "The results were published in a peer-reviewed journal after [several|three] rounds of revision.",
            "For now, the researchers say, the most honest answer to many of the questions raised is that we simply do not know yet.",
            "A conference in {city} last {month} gave the first hint of the result, when {name} showed a single [puzzling|odd] graph.",
            "Roughly {percent} percent of the measurements fell outside the expected range, which is what first caught the team's attention.",
        ),
    ),
    Topic(
        name="sports",
        section="sport",
        titles=("{team} keep their hopes alive in the race for {prize}", "Match report: a dramatic night at {venue}", "Five things we learned from the weekend's games", "The young players changing the fortunes of {team}", "{team} show real grit in a hard-fought win"),
        headings=("The first half", "Turning point", "Player ratings", "What the manager said", "Looking ahead", "Fan reaction"),
        slots={
            "team": ("the Rovers", "the home side", "City", "the Harriers", "the visitors", "United"),
            "prize": ("the league title", "the regional cup", "promotion", "a place in the play-offs"),
            "score": ("two goals to one", "three goals to nil", "a single late goal", "four goals to two"),
            "venue": ("the old ground", "a packed stadium", "a rain-soaked pitch", "the new community arena"),
        },
        sentences=(
            "{team} won by {score} on {weekday} night in front of {venue}, keeping their [challenge|push] for {prize} [very much|firmly] alive.",
            "The opening twenty minutes were [cautious|scrappy], with both sides more concerned about mistakes than [chances|goals].",
            "{name} opened the scoring shortly before half-time with a [low|curling] shot that crept inside the far post.",
            "The manager admitted [afterwards|after the game] that his team had not played well but [praised|applauded] their [determination|spirit].",
            "Attendance has risen by almost {percent} percent this season, and the atmosphere was [loud|electric] from start to finish.",
            "Injuries have been a problem all year, and the squad looked [stretched|tired] in the closing stages.",
            "A late substitution changed the game, as fresh legs down the [left|right] flank finally stretched the defence.",
            "Supporters travelled from as far as {city} to watch, many of them arriving [hours|long] before kick-off.",
            "With {count} matches remaining, every point now feels [precious|vital] in the race for {prize}.",
            "The referee's decision to award a penalty divided opinion, although replays suggested it was the [right|correct] call.",
            "Young [midfielder|defender] {name} was the standout performer, covering every blade of grass and winning [almost|nearly] every tackle.",
            "Training this week will focus on set pieces, which have cost the team several goals in recent [games|weeks].",
            "Ticket prices for the next home game have been frozen, a gesture that was [warmly|widely] welcomed by the supporters' trust.",
            "The club's academy has produced {count} first-team players in the last [two|three] seasons, a record few rivals can [match|equal].",
            "[Nobody|No one] expected this group of players to be challenging for {prize} when the season began in {month}.",
            "The next fixture is away from home, where {team} have struggled to pick up points for [most|much] of the year.",
            "Goalkeeper {name} made {count} [fine|superb] saves, the last of them a fingertip stop deep into [added|stoppage] time.",
            "More than {number} season tickets have already been sold for next year, a figure that [delighted|surprised] the board.",
        ),
    ),
    Topic(
        name="local_news",
        section="news",
        titles=("Council approves {project} after long debate", "Local concerns grow over {project}", "Volunteers transform a neglected corner of {street}", "What {project} will mean for the town", "Community rallies to save a much-loved café on {street}"),
        headings=("What was decided", "Local reaction", "Costs and timetable", "What happens next", "How to have your say"),
        slots={
            "project": ("the new cycle lane", "the library extension", "a plan to close the swimming pool", "the redevelopment of the market square", "a new primary school", "the flood defence scheme"),
            "group": ("residents", "local shop owners", "parents at the nearby school", "members of the allotment society", "volunteers"),
            "street": ("High Street", "Mill Lane", "Station Road", "Church Street", "Victoria Road", "Bridge Street"),
        },
        sentences=(
            "Councillors voted on {weekday} evening to approve {project}, ending months of [debate|argument] and public consultation.",
            "Dozens of {group} packed into the meeting room, with some people standing at the back for more than [two|three] hours.",
            "The scheme is expected to cost around {number} thousand pounds, with most of the money coming from a [regional|national] grant.",
            "Work is due to begin in {month} and should be finished within {count} months if the weather [holds|behaves].",
            "A spokesperson for the {group} said they welcomed the investment but wanted more information about disruption on {street}.",
            "Local resident {name}, who has lived on {street} for [thirty|forty] years, said the area had been overlooked for too long.",
            "Traffic on {street} will be diverted while the work is carried out, and temporary parking will be provided [nearby|on {street}].",
            "Several shops said they had seen fewer customers since the last round of roadworks, and they fear a [repeat|second blow].",
            "A petition opposing the plans gathered more than {number} signatures in just [three|four] weeks.",
            "The council has promised to publish regular updates and hold a drop-in session at the library every {weekday}.",
            "Supporters argue that {project} will make the town centre safer and more [attractive|welcoming] for families.",
            "Critics say the consultation was [rushed|too short] and that older residents were not given enough chance to respond.",
            "Volunteers spent the weekend clearing litter and planting bulbs along {street}, watched by curious passers-by.",
            "The decision will be reviewed in {month} next year, when councillors will consider the first results.",
            "Anyone who wants to comment on the plans can do so at the council offices or by writing to their local councillor.",
            "For many people in the town, the debate over {project} has become a wider argument about what kind of place they want to live in.",
            "A similar scheme in {city} took {count} years longer than planned, a warning that several speakers repeated.",
            "Councillor {name} said the money had to be spent by {month} or it would be returned to the regional fund.",
        ),
    ),
    Topic(
        name="reviews",
        section="reviews",
        titles=("{product} review: is it worth the money?", "We tested a popular {product} for a month", "The best {product} for most people", "Long-term review: living with a {product}", "Is this {product} too good to be true?"),
        headings=("Design and build", "Performance", "Battery and charging", "What we did not like", "Verdict", "Who should buy it"),
        slots={
            "product": ("cordless vacuum cleaner", "espresso machine", "pair of trail running shoes", "budget laptop", "robot lawnmower", "set of noise-cancelling headphones", "electric bike", "air fryer"),
            "feature": ("battery life", "build quality", "companion app", "noise level", "comfort over long periods", "value for money"),
            "flaw": ("a flimsy charging cable", "a confusing set of buttons", "a short warranty", "an irritating startup chime", "a heavy carrying case"),
        },
        sentences=(
            "We used this {product} [every day|daily] for {count} weeks to see how it [copes with|stands up to] ordinary [family|household] life.",
            "First impressions are [good|positive], and its {feature} is [clearly|noticeably] better than on the model it replaces.",
            "Setting it up took about [ten|fifteen] minutes, although the printed instructions were not much help.",
            "Our main [complaint|gripe] is {flaw}, which feels out of place on a [product|machine] at this price.",
            "At around {number} pounds it is not [cheap|a bargain], but it undercuts [several|a few] better-known rivals.",
            "Over the [testing period|test month] its {feature} remained [consistent|impressive], and we never felt the need to reach for the old one.",
            "My [partner|flatmate], who is usually sceptical of gadgets, ended up using it [more than I did|every single day].",
            "Competitors offer more features on paper, but few of them feel as [thoughtfully|carefully] designed in [daily|everyday] use.",
            "If {feature} matters most to you, this is one of the [strongest|best] options [available|on sale] right now.",
            "The manufacturer offers a [two-year|three-year] guarantee, and replacement parts are [easy|simple] to order online.",
            "After a month the novelty wore off, which is [usually|often] the point where small annoyances like {flaw} start to [grate|matter].",
            "We compared it side by side with {count} [similar|rival] models, and it finished near the top in [almost|nearly] every test.",
            "Our colleague {name} tried it at home as well and reached [broadly|roughly] the same conclusions as we did.",
            "Overall, it does the basics [very|really] well and avoids the gimmicks that clutter so many [modern|recent] products.",
            "If you can find it on sale in {month}, it becomes an easy recommendation for most [households|people].",
            "Those on a tight budget may prefer an older model, which offers [most|much] of the same performance for far less [money|cash].",
            "A reader in {city}, {name}, wrote in to say that the {product} had survived a house move without a scratch.",
            "We measured its {feature} against the claims on the box, and the real figures came within {percent} percent of them.",
        ),
    ),
)

# Sentences that fit any article; they still carry slots and alternatives, so two articles rarely share them.
GENERIC_SENTENCES = (
    "We would [love|like] to hear about your own experiences, so please [share|send] them with us by {weekday}.",
    "It is a small detail, but small details are [often|usually] what separate a good result from a [disappointing|mediocre] one.",
    "None of this is complicated, yet it took us {count} [attempts|tries] to work it out.",
    "As always, your own circumstances may differ, so treat these suggestions as a starting point rather than a [rulebook|recipe].",
    "When we first wrote about this subject {count} years ago, the situation looked very different.",
    "Several readers from {city} have asked us to explain the reasoning in more detail, which is what the next section [sets out to do|tries to do].",
    "There is no single right answer here, and sensible people [disagree|differ] about the best approach.",
    "Looking back, the most useful lesson was to be patient and to resist the urge to change everything at once.",
    "We spoke to {name}, who has more than {count} decades of experience, to find out what beginners most often get wrong.",
    "The difference was noticeable within a [week|fortnight], and it has lasted far longer than we expected.",
    "That said, there are a few things worth checking before you start, especially if it is your first {month} trying this.",
    "On a grey {weekday} afternoon in {month}, it is easy to forget why any of this matters, but it does.",
    "Our advice is to start small, keep notes, and build on whatever works for you in {city} or anywhere else.",
    "We have updated this article since it was first published in {month} to reflect new information and reader feedback.",
    "Some of the most helpful tips came not from experts but from people like {name} who had simply tried and failed a few times.",
    "If you are in {city} this {month}, it is well worth seeing the results for yourself.",
    "It would be easy to dismiss all of this as common sense, but common sense is not always common practice.",
    "The numbers only tell part of the story, and the human side is [just as|every bit as] important.",
    "A friend from {city} put it best when she said that the hardest part is simply getting started.",
    "We were not paid or sponsored to write this piece, and {name} checked every figure before publication.",
    "In hindsight, we should have asked for help much earlier instead of trying to do everything ourselves.",
    "Things rarely go exactly to plan, and that is part of what makes the process [interesting|worthwhile].",
    "Whatever you decide, try to make the choice deliberately rather than by default.",
    "By the time we had finished on {weekday} evening, it was clear that the effort had been worthwhile.",
    "Of course, not everyone will agree, and {name} for one thinks we have been far too cautious.",
    "The conversation that followed lasted well into the evening and covered far more ground than we had planned.",
    "We will return to this subject in {month} once we have had more time to test the alternatives.",
    "If there is one thing to take away from all of this, it is that consistency matters more than perfection.",
    "Our thanks go to {name} in {city}, who read an early draft and pointed out several mistakes.",
    "Plenty of people manage [perfectly well|just fine] without any of this, and there is no shame in keeping things simple.",
    "We kept a [log|record] of every attempt over {count} weeks, and the pattern only became clear at the very end.",
    "The cheapest option is not always the worst, and the most expensive one is certainly not always the best.",
    "A few of you wrote in after our {month} piece to point out what we had missed, and we are grateful for it.",
    "It helps to talk the plan through with someone else before committing, even if they know nothing about the subject.",
)

# Other-language pages: LanguageFilter must see them as not English.
FOREIGN_LANGUAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "domains": ("www.wochenblatt-am-see.de", "www.kuechenzeit-magazin.de"),
        "nav": ("Startseite", "Rezepte", "Reisen", "Über uns", "Kontakt"),
        "titles": ("Neuigkeiten aus der Region", "Unser Wochenrückblick", "Tipps für den Alltag"),
        "sentences": (
            "Am Wochenende haben wir einen langen Spaziergang durch den Stadtpark gemacht und anschließend Kaffee und Kuchen genossen.",
            "Die Stadtverwaltung hat angekündigt, dass die Bauarbeiten an der Hauptstraße noch bis Ende des Monats dauern werden.",
            "Für dieses Rezept brauchen Sie nur wenige Zutaten, die Sie in jedem Supermarkt bekommen.",
            "Viele Leserinnen und Leser haben uns gefragt, wie man im Winter am besten Energie sparen kann.",
            "Der Zug nach München war pünktlich, aber leider völlig überfüllt, weil viele Menschen in den Urlaub fuhren.",
            "Im Garten blühen jetzt die ersten Tulpen, und die Vögel sind schon seit dem frühen Morgen zu hören.",
            "Nach dem Spiel sagte der Trainer, dass seine Mannschaft in der zweiten Halbzeit deutlich besser gespielt habe.",
            "Das Museum ist dienstags bis sonntags von zehn bis achtzehn Uhr geöffnet, der Eintritt für Kinder ist frei.",
            "Wir empfehlen, die Unterkunft frühzeitig zu buchen, da die Preise in der Hauptsaison stark steigen.",
            "Die Forscher wollen ihre Ergebnisse im nächsten Jahr in einer Fachzeitschrift veröffentlichen.",
        ),
    },
    "fr": {
        "domains": ("www.carnets-du-sud.fr", "www.la-gazette-du-quartier.fr"),
        "nav": ("Accueil", "Recettes", "Voyages", "À propos", "Contact"),
        "titles": ("Nouvelles du quartier", "Nos conseils de la semaine", "Carnet de voyage"),
        "sentences": (
            "Ce week-end, nous avons profité du beau temps pour nous promener le long de la rivière avec les enfants.",
            "La mairie a annoncé que les travaux de rénovation de la place du marché commenceront au printemps prochain.",
            "Pour réussir cette recette, il faut laisser reposer la pâte au moins une heure au réfrigérateur.",
            "Beaucoup de lecteurs nous ont demandé comment économiser de l'argent sans renoncer aux petits plaisirs du quotidien.",
            "Le train pour Bordeaux avait plus d'une heure de retard, mais le paysage valait vraiment le détour.",
            "Dans le jardin, les premières tomates commencent à rougir et les fraises sont presque prêtes à être cueillies.",
            "Après le match, l'entraîneur a reconnu que son équipe avait manqué de réalisme devant le but.",
            "Le musée est ouvert tous les jours sauf le lundi, et l'entrée est gratuite le premier dimanche du mois.",
            "Nous vous conseillons de réserver votre hébergement plusieurs semaines à l'avance pendant la haute saison.",
            "Les chercheurs espèrent que ces résultats permettront de mieux comprendre l'évolution du climat.",
        ),
    },
    "es": {
        "domains": ("www.diario-del-barrio.es", "www.recetas-de-la-abuela.es"),
        "nav": ("Inicio", "Recetas", "Viajes", "Quiénes somos", "Contacto"),
        "titles": ("Noticias del barrio", "Consejos de la semana", "Diario de viaje"),
        "sentences": (
            "El fin de semana pasado fuimos al mercado central y compramos fruta fresca, queso y pan recién hecho.",
            "El ayuntamiento ha confirmado que las obras de la calle principal terminarán antes del verano.",
            "Para esta receta necesitas pocos ingredientes y apenas media hora de preparación.",
            "Muchos lectores nos han preguntado cómo ahorrar en la factura de la luz durante los meses de invierno.",
            "El tren a Sevilla salió puntual y el viaje fue mucho más cómodo de lo que esperábamos.",
            "En el huerto ya han salido las primeras lechugas, aunque las heladas de la semana pasada dañaron algunas plantas.",
            "Tras el partido, el entrenador explicó que el equipo había trabajado muy bien en defensa.",
            "El museo abre de martes a domingo y la entrada es gratuita para los menores de dieciocho años.",
            "Te recomendamos reservar el alojamiento con antelación, porque en agosto los precios suben mucho.",
            "Los investigadores publicarán los resultados completos del estudio a finales de este año.",
        ),
    },
    "it": {
        "domains": ("www.cronache-di-paese.it", "www.orto-e-cucina.it"),
        "nav": ("Home", "Ricette", "Viaggi", "Chi siamo", "Contatti"),
        "titles": ("Notizie dal quartiere", "I consigli della settimana", "Diario di viaggio"),
        "sentences": (
            "Domenica scorsa siamo andati al mercato del paese e abbiamo comprato verdure fresche e formaggio locale.",
            "Il comune ha annunciato che i lavori sulla piazza principale inizieranno il mese prossimo.",
            "Per questa ricetta servono pochi ingredienti e circa quaranta minuti di cottura a fuoco lento.",
            "Molti lettori ci hanno chiesto come risparmiare sulla spesa senza rinunciare alla qualità.",
            "Il treno per Firenze era in ritardo di mezz'ora, ma il viaggio è stato comunque piacevole.",
            "Nell'orto i pomodori stanno maturando e le zucchine crescono più velocemente del previsto.",
            "Dopo la partita, l'allenatore ha detto che la squadra deve migliorare nei calci piazzati.",
            "Il museo è aperto dal martedì alla domenica e il biglietto ridotto costa cinque euro.",
            "Vi consigliamo di prenotare l'alloggio con largo anticipo, soprattutto durante l'estate.",
            "I ricercatori sperano di pubblicare i risultati definitivi entro la fine dell'anno.",
        ),
    },
    "nl": {
        "domains": ("www.buurtnieuws-online.nl", "www.fietsen-en-eten.nl"),
        "nav": ("Home", "Recepten", "Reizen", "Over ons", "Contact"),
        "titles": ("Nieuws uit de buurt", "Tips van de week", "Reisverslag"),
        "sentences": (
            "Afgelopen weekend hebben we een lange fietstocht gemaakt langs de dijk en onderweg koffie gedronken in een klein dorp.",
            "De gemeente heeft laten weten dat de werkzaamheden aan de brug nog minstens twee maanden duren.",
            "Voor dit recept heb je maar een paar ingrediënten nodig die je in elke supermarkt kunt vinden.",
            "Veel lezers vroegen ons hoe je in de winter kunt besparen op je energierekening.",
            "De trein naar Utrecht was vol, maar we vonden gelukkig nog een plekje bij het raam.",
            "In de moestuin komen de eerste bonen al op, hoewel de nachten nog behoorlijk koud zijn.",
            "Na de wedstrijd zei de trainer dat zijn ploeg in de tweede helft veel beter had gespeeld.",
            "Het museum is van dinsdag tot en met zondag geopend en kinderen tot twaalf jaar mogen gratis naar binnen.",
            "We raden aan om je verblijf ruim van tevoren te boeken, omdat de prijzen in de zomer flink stijgen.",
            "De onderzoekers willen hun resultaten volgend jaar publiceren in een wetenschappelijk tijdschrift.",
        ),
    },
    "pt": {
        "domains": ("www.jornal-da-vila.pt", "www.cozinha-de-domingo.pt"),
        "nav": ("Início", "Receitas", "Viagens", "Sobre nós", "Contacto"),
        "titles": ("Notícias do bairro", "Dicas da semana", "Diário de viagem"),
        "sentences": (
            "No fim de semana passado fomos ao mercado da vila e comprámos fruta fresca, queijo e pão caseiro.",
            "A câmara municipal anunciou que as obras na avenida principal vão terminar antes do verão.",
            "Para esta receita precisa de poucos ingredientes e de cerca de meia hora na cozinha.",
            "Muitos leitores perguntaram-nos como poupar dinheiro nas compras do supermercado.",
            "O comboio para o Porto chegou com algum atraso, mas a paisagem ao longo do rio compensou a espera.",
            "Na horta, as primeiras alfaces já estão prontas e os tomateiros crescem a bom ritmo.",
            "Depois do jogo, o treinador disse que a equipa tinha mostrado muito carácter na segunda parte.",
            "O museu está aberto de terça a domingo e a entrada é gratuita para crianças até aos doze anos.",
            "Recomendamos que reserve o alojamento com antecedência, porque os preços sobem muito em agosto.",
            "Os investigadores esperam publicar os resultados finais do estudo no próximo ano.",
        ),
    },
    "pl": {
        "domains": ("www.gazeta-osiedlowa.pl", "www.kuchnia-i-ogrod.pl"),
        "nav": ("Strona główna", "Przepisy", "Podróże", "O nas", "Kontakt"),
        "titles": ("Wiadomości z okolicy", "Porady tygodnia", "Dziennik podróży"),
        "sentences": (
            "W ostatni weekend wybraliśmy się na długi spacer po lesie, a potem zjedliśmy obiad w małej gospodzie.",
            "Urząd miasta poinformował, że remont głównej ulicy potrwa jeszcze co najmniej dwa miesiące.",
            "Do tego przepisu potrzebujesz tylko kilku składników, które łatwo kupić w każdym sklepie.",
            "Wielu czytelników pytało nas, jak oszczędzać na rachunkach za ogrzewanie w czasie zimy.",
            "Pociąg do Krakowa był punktualny, ale w wagonach było bardzo tłoczno z powodu długiego weekendu.",
            "W ogrodzie zakwitły już pierwsze tulipany, a na krzewach pojawiły się młode liście.",
            "Po meczu trener powiedział, że jego drużyna zagrała w drugiej połowie znacznie lepiej.",
            "Muzeum jest otwarte od wtorku do niedzieli, a wstęp dla dzieci do lat siedmiu jest bezpłatny.",
            "Zalecamy wcześniejszą rezerwację noclegu, ponieważ w sezonie ceny znacznie rosną.",
            "Naukowcy planują opublikować pełne wyniki badań pod koniec przyszłego roku.",
        ),
    },
}

# Real entries of datatrove's bundled URL blocklists (gambling, pharmacy and phishing domains, subdomains
# of a public-suffix host) and of its banned / soft-banned word lists. The page bodies stay tame.
BLOCKLISTED_URLS = (
    "https://www.casinoonline.com/promotions/welcome-bonus",
    "https://www.888casino.com/blog/weekend-offers/",
    "https://www.online-casinos.com/reviews/new-sites-2024",
    "https://casino-gambling-pros.com/guide/first-deposit",
    "https://www.free-poker-rooms.com/rooms/tonight",
    "https://www.kilopills.com/catalog/page/2",
    "https://0-secure-paypal.com/account/verify",
    "https://www.caribbeancasinos.net/news/island-resorts",
    "https://www.bestinternetpoker.com/freerolls/schedule",
    "https://beatonlinecasinos.blogspot.com/2024/03/new-offers.html",
    "https://bingocasino.blogspot.com/2024/02/bingo-night.html",
    "https://www.pharmacy-direct-online.net/products/viagra-generic-100mg",
    "https://www.discount-meds-shop.com/cialis-daily-low-price",
    "https://www.video-archive-hub.com/category/xxx/latest",
    "https://www.fashion-outlet-deals.com/lingerie/sexy-nightwear-sale",
    "https://www.hotchat-rooms.com/join/today",
)
BLOCKLISTED_BODY = (
    "Welcome back! New offers are added every day, so check this page often.",
    "Register for free in less than a minute and claim your welcome bonus today.",
    "Members enjoy exclusive promotions, weekly prizes and fast support around the clock.",
    "Limited time only: the best deals of the season are waiting for you.",
    "Verify your account details now to keep enjoying all of our services without interruption.",
)

# ---------------------------------------------------------------------------------------------------
# Sites: where the good articles live.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    domain: str
    name: str
    topic: str  # a Topic name, or "digest" for sites whose long reads mix several topics
    url_style: int  # 0: /section/yyyy/mm/slug/  1: /blog/slug.html  2: /section/id-slug


SITES = (
    Site("www.thekitchenledger.com", "The Kitchen Ledger", "cooking", 0),
    Site("www.weeknightsupper.co.uk", "Weeknight Supper", "cooking", 1),
    Site("www.saltandsimmer.net", "Salt & Simmer", "cooking", 2),
    Site("www.slowroutesjournal.com", "Slow Routes Journal", "travel", 0),
    Site("www.trainwindowtravels.net", "Train Window Travels", "travel", 1),
    Site("www.potterandplot.co.uk", "Potter & Plot", "gardening", 1),
    Site("www.greenfingersweekly.com", "Green Fingers Weekly", "gardening", 2),
    Site("www.oldtownrecords.org", "Old Town Records", "history", 0),
    Site("www.parishandpeople.org.uk", "Parish & People", "history", 2),
    Site("www.quietbuildlog.dev", "Quiet Build Log", "programming", 1),
    Site("www.stacktracestories.io", "Stack Trace Stories", "programming", 0),
    Site("www.sensiblepennies.com", "Sensible Pennies", "finance", 0),
    Site("www.householdbudgetdesk.co.uk", "Household Budget Desk", "finance", 2),
    Site("www.labnotebookdaily.com", "Lab Notebook Daily", "science", 0),
    Site("www.fieldandorbit.net", "Field & Orbit", "science", 2),
    Site("www.touchlinereport.co.uk", "Touchline Report", "sports", 0),
    Site("www.terracechronicle.com", "Terrace Chronicle", "sports", 2),
    Site("www.riversidegazette.co.uk", "Riverside Gazette", "local_news", 0),
    Site("www.northvaleherald.com", "Northvale Herald", "local_news", 2),
    Site("www.honestkitreviews.com", "Honest Kit Reviews", "reviews", 1),
    Site("www.testbenchweekly.com", "Test Bench Weekly", "reviews", 0),
    Site("www.sundaylongread.com", "The Sunday Long Read", "digest", 0),
    Site("www.weekendnotebook.co.uk", "Weekend Notebook", "digest", 2),
)
TOPIC_SITES = [site for site in SITES if site.topic != "digest"]
DIGEST_SITES = [site for site in SITES if site.topic == "digest"]
DIGEST_TITLES = (
    "The week in review", "Weekend reading", "Notes from a busy month", "Our long read for the weekend",
    "Letters, lists and lessons",
)
SITE_NAV_ITEMS = (
    ("Home", "News", "Features", "Opinion", "About", "Contact"),
    ("Home", "Latest", "Guides", "Newsletter", "Shop", "Subscribe"),
    ("Start here", "Archive", "Popular", "Podcast", "About us"),
)
SERVERS = ("nginx", "Apache", "cloudflare", "nginx/1.24.0", "Apache/2.4.58 (Ubuntu)")

# ---------------------------------------------------------------------------------------------------
# Writing articles.
# ---------------------------------------------------------------------------------------------------

SLOT_PATTERN = re.compile(r"\{(\w+)\}")
ALTERNATIVES_PATTERN = re.compile(r"\[([^\[\]]*)\]")


def fill_slots(
    template: str, slots: dict[str, tuple[str, ...]], rng: random.Random, focus: dict[str, str] | None = None
) -> str:
    """The template with each [a|b] replaced by one of its alternatives and each {slot} by a random value
    (a person's name for {name}), mostly the article's `focus` value for that slot (the dish or city
    of the title). Alternatives every few words mean two articles built from the same templates share
    few 5-word shingles, which is what MinHash compares."""

    def pick_alternative(match: re.Match) -> str:
        return rng.choice(match.group(1).split("|"))

    def pick_slot(match: re.Match) -> str:
        slot = match.group(1)
        if focus and slot in focus and rng.random() < 0.8:
            return focus[slot]
        if slot == "name":
            return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        return rng.choice(slots.get(slot) or SHARED_SLOTS[slot])

    text = SLOT_PATTERN.sub(pick_slot, ALTERNATIVES_PATTERN.sub(pick_alternative, template))
    return text[0].upper() + text[1:]


@dataclass
class Article:
    """An article before it is wrapped in a site's page: title, byline and body blocks (tag, text)."""

    title: str
    author: str
    published: str  # "9 April 2024"
    blocks: list[tuple[str, str]] = field(default_factory=list)

    def words(self) -> int:
        return sum(len(text.split()) for _, text in self.blocks)


def new_article(title: str, rng: random.Random) -> Article:
    return Article(
        title=title,
        author=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        published=f"{rng.randint(1, 28)} {rng.choice(SHARED_SLOTS['month'])} {rng.randint(2022, 2024)}",
    )


def topic_title(topic: Topic, rng: random.Random) -> tuple[str, dict[str, str]]:
    """A title for an article on `topic`, and the slot values it settled on (what the article is about)."""
    template = rng.choice(topic.titles)
    slots = {**SHARED_SLOTS, **topic.slots}
    focus = {slot: rng.choice(slots[slot]) for slot in SLOT_PATTERN.findall(template)}
    title = SLOT_PATTERN.sub(lambda match: focus[match.group(1)], template)
    return title[0].upper() + title[1:], focus


def add_paragraphs(
    article: Article, templates: list[str], topic: Topic, focus: dict, rng: random.Random, words: int
) -> None:
    """Paragraphs of 2-5 sentences until the article has `words` words or the templates run out.
    No template is used twice: Gopher would see a repeated sentence as repetition."""
    while templates and article.words() < words:
        size = min(rng.randint(2, 5), len(templates))
        sentences = (fill_slots(templates.pop(), topic.slots, rng, focus) for _ in range(size))
        article.blocks.append(("p", " ".join(sentences)))


def write_article(topic: Topic, rng: random.Random, target_words: int) -> Article:
    """A single-topic article of roughly `target_words` (at most ~650) words under a few headings.
    Each article draws on a random part of its topic's templates, so that two articles on the same
    topic stay far apart for MinHash."""
    templates = rng.sample(topic.sentences, k=13) + rng.sample(GENERIC_SENTENCES, k=13)
    rng.shuffle(templates)
    headings = rng.sample(topic.headings, k=len(topic.headings))
    title, focus = topic_title(topic, rng)
    article = new_article(title, rng)
    add_paragraphs(article, templates, topic, focus, rng, min(target_words, 120))
    while templates and headings and article.words() < target_words:
        article.blocks.append(("h2", headings.pop()))
        section_end = min(target_words, article.words() + rng.randint(120, 220))
        add_paragraphs(article, templates, topic, focus, rng, section_end)
    return article


def write_digest(rng: random.Random, sections: int) -> Article:
    """A long read (800-1,500 words) made of several short pieces on different topics, as weekend
    editions and newsletters are."""
    month = rng.choice(SHARED_SLOTS["month"])
    article = new_article(f"{rng.choice(DIGEST_TITLES)}: {month} edition", rng)
    generic = rng.sample(GENERIC_SENTENCES, k=len(GENERIC_SENTENCES))
    for topic in rng.sample(TOPICS, k=sections):
        heading, focus = topic_title(topic, rng)
        article.blocks.append(("h2", heading))
        templates = rng.sample(topic.sentences, k=10) + [generic.pop() for _ in range(4)]
        rng.shuffle(templates)
        add_paragraphs(article, templates, topic, focus, rng, min(1500, article.words() + 320))
    return article


def article_html(article: Article) -> str:
    """The <article> element: title, byline, then the body blocks."""
    parts = [
        "<article>",
        f"<h1>{html.escape(article.title)}</h1>",
        f'<p class="byline">By {html.escape(article.author)} | <time>{article.published}</time></p>',
    ]
    parts += [f"<{tag}>{html.escape(text)}</{tag}>" for tag, text in article.blocks]
    parts.append("</article>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------
# Wrapping a body in a web page: head, cookie banner, header and menu, sidebar, footer.
# ---------------------------------------------------------------------------------------------------


def page_html(
    title: str,
    main: str,
    site_name: str,
    rng: random.Random,
    *,
    lang: str = "en",
    charset: str = "utf-8",
    nav: tuple[str, ...] | None = None,
    sidebar_titles: tuple[str, ...] = (),
    chrome: str = "full",
) -> str:
    """A whole HTML document around `main`. chrome="full": cookie banner (sometimes), text menu,
    sidebar, footer; "icons": an icon-only header, aside and footer (text an extractor always drops);
    "none": just the body."""
    head = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="{charset}">\n'
        f"<title>{html.escape(title)} | {html.escape(site_name)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/static/css/main.css">\n</head>\n<body>'
    )
    if chrome == "none":
        return f"{head}\n{main}\n</body>\n</html>\n"
    blocks = [head]
    if chrome == "icons":
        blocks.append(
            '<header><a href="/"><img src="/static/logo.svg" alt=""></a><nav><a href="/search">'
            '<img src="/static/icons/search.svg" alt=""></a><a href="/account"><img src="/static/icons/user.svg" alt="">'
            "</a></nav></header>"
        )
    else:
        if rng.random() < 0.6:
            blocks.append(
                '<div id="cookie-banner" class="cookie-notice"><p>We use cookies to improve your experience. '
                "By continuing to browse you agree to our use of cookies.</p>"
                '<button>Accept all</button> <a href="/cookies/">Settings</a></div>'
            )
        items = nav or rng.choice(SITE_NAV_ITEMS)
        menu = "".join(f'<li><a href="/{slugify(item)}/">{html.escape(item)}</a></li>' for item in items)
        blocks.append(rng.choice(HEADERS).format(site=html.escape(site_name), menu=menu))
    extras = [block for block in (BREADCRUMBS, SHARE_BAR) if chrome == "full" and rng.random() < 0.4]
    blocks.append("<main>\n" + "\n".join([*extras[:1], main, *extras[1:]]) + "\n</main>")
    if sidebar_titles:
        links = "".join(f'<li><a href="/{slugify(t)}/">{html.escape(t)}</a></li>' for t in sidebar_titles)
        blocks.append(
            f'<aside class="sidebar"><h3>Most read</h3><ul>{links}</ul>'
            '<div class="newsletter"><h3>Newsletter</h3><p>Get our best stories every Friday.</p>'
            '<form><input type="email" placeholder="Your email"><button>Sign up</button></form></div></aside>'
        )
    blocks.append(
        f'<footer><p>&copy; 2024 {html.escape(site_name)}. All rights reserved.</p><ul>'
        '<li><a href="/about/">About us</a></li><li><a href="/contact/">Contact</a></li>'
        '<li><a href="/privacy/">Privacy policy</a></li><li><a href="/terms/">Terms of use</a></li></ul></footer>'
    )
    blocks.append('<script src="/static/js/app.js" defer></script>\n</body>\n</html>\n')
    return "\n".join(blocks)


HEADERS = (
    '<header class="site-header"><a class="logo" href="/">{site}</a>\n<nav class="main-menu"><ul>{menu}</ul></nav>\n'
    '<form class="search" action="/search"><input type="text" name="q" placeholder="Search"></form></header>',
    '<div class="topbar"><div class="container"><a class="brand" href="/">{site}</a><ul class="menu">{menu}</ul>'
    '<a class="subscribe" href="/subscribe/">Subscribe</a></div></div>',
    '<header id="masthead"><p class="site-title"><a href="/">{site}</a></p><p class="tagline">Stories worth your '
    'time</p><nav id="site-navigation"><button class="menu-toggle">Menu</button><ul>{menu}</ul></nav></header>',
)
BREADCRUMBS = '<nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/features/">Features</a></nav>'
SHARE_BAR = (
    '<div class="share"><span>Share this:</span> <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Email</a>'
    ' <a href="#comments">Comments (0)</a></div>'
)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def article_url(site: Site, article: Article, serial: int) -> str:
    slug = slugify(article.title)[:70].strip("-")
    _, month, year = article.published.split()
    section = next((t.section for t in TOPICS if t.name == site.topic), "features")
    if site.url_style == 0:
        return f"https://{site.domain}/{section}/{year}/{SHARED_SLOTS['month'].index(month) + 1:02d}/{slug}/"
    if site.url_style == 1:
        return f"https://{site.domain}/blog/{slug}.html"
    return f"https://{site.domain}/{section}/{10400 + serial}-{slug}"


# ---------------------------------------------------------------------------------------------------
# Pages of each category.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One crawled HTML page: what the WARC response holds, and which category it stands for."""

    url: str
    category: str
    html: str
    charset: str = "utf-8"
    sniff: bool = False  # no WARC-Identified-Payload-Type: the reader has to look at the bytes


@dataclass
class GoodArticle:
    site: Site
    article: Article
    page: Page


def make_good_article(rng: random.Random, serial: int) -> GoodArticle:
    # Most web articles are short; about one in eight is a long multi-topic read.
    if rng.random() < 0.12:
        site = DIGEST_SITES[serial % len(DIGEST_SITES)]
        article = write_digest(rng, sections=rng.randint(3, 5))
    else:
        site = TOPIC_SITES[serial % len(TOPIC_SITES)]
        topic = next(t for t in TOPICS if t.name == site.topic)
        article = write_article(topic, rng, target_words=300 + int(rng.expovariate(1 / 150)))
    good = GoodArticle(site, article, Page(url=article_url(site, article, serial), category="good", html=""))
    good.page.html = render_good_article(good, rng)
    return good


def render_good_article(good: GoodArticle, rng: random.Random) -> str:
    sidebar = tuple(fill_slots(rng.choice(t.titles), t.slots, rng) for t in rng.sample(TOPICS, k=4))
    article = good.article
    return page_html(article.title, article_html(article), good.site.name, rng, sidebar_titles=sidebar)


def public_ip(rng: random.Random) -> str:
    """A globally routable IPv4 address (what datatrove's PII formatter replaces)."""
    while True:
        address = ipaddress.IPv4Address(rng.randint(0x0B000000, 0xDF000000))
        if address.is_global:
            return str(address)


def add_pii(good: GoodArticle, rng: random.Random) -> None:
    """Put emails, public and private IPs and phone numbers into an article, the way contact lines,
    tech write-ups and local news do."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES).replace("'", "")
    domain = good.site.domain.removeprefix("www.")
    email = f"{first.lower()}.{last.lower()}@{domain}"
    # Phone numbers from the ranges set aside for drama (Ofcom's 020 7946 0xxx, the US 555-01xx).
    uk_phone = f"+44 20 7946 0{rng.randint(100, 999)}"
    phone = rng.choice((uk_phone, f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}"))
    private_ip = rng.choice(("192.168.1.", "192.168.0.", "10.0.0.")) + str(rng.randint(2, 250))
    sentences = [
        f"If you have a question about this story, you can email our editor at {email} or call the desk on {phone}.",
        f"During testing the public server answered at {public_ip(rng)}, while the router on our office network sits at {private_ip} as usual.",
        f"Readers who spotted a mistake can write to corrections@{domain} and we will update the article as soon as we can.",
        f"The booking page was briefly hosted at {public_ip(rng)} after the move, and {first} {last} can be reached at {email} for group bookings.",
    ]
    rng.shuffle(sentences)
    good.article.blocks.insert(len(good.article.blocks) // 2, ("p", sentences[0]))
    good.article.blocks.append(("p", sentences[1]))
    good.page.category = "good_with_pii"
    good.page.html = render_good_article(good, rng)


def windows_1252_article(rng: random.Random) -> Page:
    """An English travel piece full of accented words, served as windows-1252 (not UTF-8), as many older
    sites still are. Only characters that windows-1252 and ISO-8859-1 share are used, so a charset
    detector that guesses either one decodes it right."""
    text = (
        "We found the little café behind the cathedral on our second morning in Lyon, and it quickly became a ritual.",
        "The owner, a cheerful man called Jérôme, served crème brûlée for breakfast without a hint of irony.",
        "His façade is painted a faded rosé pink, and the terrace looks onto a square where old men play pétanque until dusk.",
        "I confess to a naïve belief that every French bakery is excellent, but this one really does deserve its reputation.",
        "On the menu you will also find a jalapeño omelette, a nod to the owner's years working in a Mexican restaurant.",
        "A regular from Zürich told us she plans her business trips around the Friday pain au chocolat.",
        "Prices are modest, the coffee is strong, and nobody minds if you linger over a newspaper for an hour or more.",
        "Before we left, Jérôme wrote the name of his cousin's bistro in Mâcon on a napkin and insisted we go there next.",
        "We did, the following spring, and it was every bit as good as he had promised, down to the last crêpe.",
        "If you visit, go early on a weekday, sit outside if the weather allows, and order whatever is written on the blackboard.",
        "The cassoulet on Thursdays is rich enough to feed a family, and the waiter will happily bring a second basket of bread.",
        "In autumn the square fills with stalls selling chestnuts, cider and a rather fierce eau-de-vie that we cannot recommend.",
        "Our only complaint is that the chairs are small, which matters less once the second coffee has arrived.",
        "We have sent at least a dozen friends there since, and every one of them has come back with a story about Jérôme.",
    )
    article = Article("A café in Lyon that we keep going back to", "Hélène Marchetti", "9 April 2024")
    article.blocks = [("p", " ".join(text[:4])), ("p", " ".join(text[4:7])), ("h2", "How to find it")]
    article.blocks += [("p", " ".join(text[7:11])), ("p", " ".join(text[11:]))]
    page_text = page_html(article.title, article_html(article), SITES[3].name, rng, charset="windows-1252")
    url = "https://www.slowroutesjournal.com/travel/2024/04/a-cafe-in-lyon-that-we-keep-going-back-to/"
    return Page(url=url, category="good_windows_1252", html=page_text, charset="windows-1252")


def exact_duplicate(good: GoodArticle, rng: random.Random) -> Page:
    """The same page at another URL: a tracking parameter, an AMP path or a mobile host."""
    url = good.page.url
    tracked, amp = f"{url}?utm_source=newsletter&utm_medium=email", f"{url.rstrip('/')}/amp/"
    url = rng.choice((tracked, amp, url.replace("://www.", "://m.")))
    return Page(url=url, category="exact_duplicate", html=good.page.html)


NEAR_DUPLICATE_NOTES = {
    "date": "This article was updated with new information after it was first published.",
    "correction": "Correction: an earlier version of this article gave a wrong figure.",
    "syndicated": "This article first appeared on {site} and is republished here with permission.",
}


FIGURE_PATTERN = re.compile(r"\b\d{2,4}\b")


def near_duplicate(good: GoodArticle, rng: random.Random) -> Page:
    """The same article with a small edit (a new date, one more sentence, a correction) or republished
    by another site with that site's boilerplate."""
    copy = replace(good.article, blocks=list(good.article.blocks))
    edit = rng.choice(("date", "extra_sentence", "correction", "syndicated"))
    site = good.site
    if edit == "extra_sentence":
        index = rng.choice([i for i, (tag, _) in enumerate(copy.blocks) if tag == "p"])
        extra = fill_slots(rng.choice(GENERIC_SENTENCES), {}, rng)
        copy.blocks[index] = ("p", f"{copy.blocks[index][1]} {extra}")
    else:
        copy.blocks.append(("p", NEAR_DUPLICATE_NOTES[edit].format(site=good.site.name)))
    if edit == "date":
        copy.published = f"{rng.randint(1, 28)} {rng.choice(SHARED_SLOTS['month'])} 2024"
    if edit == "correction":  # the first figure in the text, corrected
        index = next((i for i, (_, text) in enumerate(copy.blocks) if FIGURE_PATTERN.search(text)), None)
        if index is not None:
            tag, text = copy.blocks[index]
            copy.blocks[index] = (tag, FIGURE_PATTERN.sub(lambda match: str(int(match.group()) + 10), text, count=1))
    if edit == "syndicated":
        site = rng.choice([s for s in SITES if s != good.site])
    sidebar = tuple(fill_slots(rng.choice(t.titles), t.slots, rng) for t in rng.sample(TOPICS, k=3))
    page_text = page_html(copy.title, article_html(copy), site.name, rng, sidebar_titles=sidebar)
    url = article_url(site, copy, rng.randint(500, 900))
    if url == good.page.url:
        url = f"{url}?page=1"
    return Page(url=url, category="near_duplicate", html=page_text)


def duplicate_pages(originals: list[GoodArticle], rng: random.Random) -> list[Page]:
    # One copy per original at most: trafilatura's own de-duplication drops a paragraph on its fourth
    # sighting, and we want MinHash, not the extractor, to find these.
    exact, near = CATEGORY_COUNTS["exact_duplicate"], CATEGORY_COUNTS["near_duplicate"]
    sources = rng.sample(originals, k=exact + near)
    return [exact_duplicate(good, rng) for good in sources[:exact]] + [
        near_duplicate(good, rng) for good in sources[exact:]
    ]


def foreign_pages(rng: random.Random) -> list[Page]:
    pages = []
    languages = list(FOREIGN_LANGUAGES)
    for i in range(CATEGORY_COUNTS["foreign_language"]):
        lang = languages[i % len(languages)]
        bank = FOREIGN_LANGUAGES[lang]
        sentences = rng.sample(bank["sentences"], k=rng.randint(6, 9))
        cut = len(sentences) // 2
        title = rng.choice(bank["titles"])
        main = (
            f"<article><h1>{html.escape(title)}</h1><p>{html.escape(' '.join(sentences[:cut]))}</p>"
            f"<p>{html.escape(' '.join(sentences[cut:]))}</p></article>"
        )
        domain = bank["domains"][i % 2]
        site_name = domain.removeprefix("www.").split(".")[0].replace("-", " ").title()
        page_text = page_html(title, main, site_name, rng, lang=lang, nav=bank["nav"])
        url = f"https://{domain}/{slugify(title)}-{2400 + i}.html"
        pages.append(Page(url=url, category="foreign_language", html=page_text))
    return pages


def blocklisted_pages(rng: random.Random) -> list[Page]:
    pages = []
    for url in BLOCKLISTED_URLS:
        body = "".join(f"<p>{s}</p>" for s in rng.sample(BLOCKLISTED_BODY, k=4))
        main = f'<div class="promo"><h1>Special offers</h1>{body}<a href="/join">Join now</a></div>'
        page_text = page_html("Special offers", main, "Offers", rng)
        pages.append(Page(url=url, category="blocklisted_url", html=page_text))
    return pages


# Pages with nothing worth keeping. The first kind has no text at all outside the header, aside and
# footer, so trafilatura returns nothing; the second kind leaks menus and buttons into the text, and the
# filters after the extractor have to catch them.
EMPTY_MAINS = (
    '<div id="root"></div><script src="/static/js/main.3f9a1c.js"></script>'
    '<script>window.__INITIAL_STATE__ = {"route": "home"};</script>',
    '<div class="gallery">{images}</div>',
    '<div class="player"><iframe src="https://player.videohost.net/embed/{number}" width="640" height="360" '
    "allowfullscreen></iframe></div>",
    '<div class="map" data-lat="51.5072" data-lng="-0.1276"><canvas width="800" height="600"></canvas></div>',
)
CHROME_MAINS = (
    '<div class="login"><h2>Sign in</h2><form action="/login" method="post"><label>Email</label>'
    '<input type="email" name="email"><label>Password</label><input type="password" name="password">'
    '<button type="submit">Sign in</button><a href="/reset">Forgot your password?</a>'
    '<a href="/register">Create an account</a></form></div>',
    '<div class="consent-wall"><h2>We value your privacy</h2><button>Accept</button><button>Reject</button>'
    "<button>Manage preferences</button></div>",
    '<div class="product-grid">{products}</div><div class="pagination"><a href="?page=1">1</a>'
    '<a href="?page=2">2</a><a href="?page=3">3</a><a href="?page=2">Next</a></div>',
    '<div class="search-results"><h2>Search results</h2><p>0 results</p></div>',
)
PRODUCT_NAMES = (
    "Oak side table", "Linen cushion cover", "Ceramic mug set", "Wool throw", "Brass desk lamp",
    "Cotton bath towel", "Walnut serving board", "Glass carafe", "Enamel pie dish", "Rattan basket",
)
VERY_SHORT_MAINS = (
    "<h1>Coming soon</h1><p>Our new website is on its way.</p>",
    "<h1>Under maintenance</h1><p>Back shortly.</p>",
    "<h1>404</h1><p>Page not found.</p>",
    "<h1>Thank you!</h1><p>You are now subscribed.</p>",
    "<p>Redirecting...</p>",
    "<h1>This domain may be for sale</h1>",
    "<h1>Access denied</h1>",
    "<p>Loading...</p>",
)


def fill_boilerplate(template: str, rng: random.Random) -> str:
    """A boilerplate body with its placeholders (video id, photos, product cards) filled in."""
    if "{number}" in template:
        return template.replace("{number}", str(rng.randint(10000, 99999)))
    if "{images}" in template:
        photos = (f'<figure><img src="/photos/{rng.randint(1000, 9999)}.jpg"></figure>' for _ in range(9))
        return template.replace("{images}", "".join(photos))
    if "{products}" in template:
        cards = (
            f'<div class="product"><img src="/img/p{n}.jpg" alt=""><span>{name}</span>'
            f'<span class="price">${rng.randint(12, 240)}.00</span><button>Add to cart</button></div>'
            for n, name in enumerate(rng.sample(PRODUCT_NAMES, k=8))
        )
        return template.replace("{products}", "".join(cards))
    return template


def boilerplate_pages(rng: random.Random) -> list[Page]:
    pages = []
    for i in range(CATEGORY_COUNTS["boilerplate_only"]):
        empty = i % 2 == 0
        main = fill_boilerplate((EMPTY_MAINS if empty else CHROME_MAINS)[(i // 2) % 4], rng)
        site = rng.choice(SITES)
        path = ("app", "account/login", "gallery", "consent", "watch", "shop", "map", "search")[i % 8]
        page_text = page_html("Welcome", main, site.name, rng, chrome="icons" if empty else "full")
        url = f"https://{site.domain}/{path}/{i + 1}"
        pages.append(Page(url=url, category="boilerplate_only", html=page_text))
    for i in range(CATEGORY_COUNTS["very_short"]):
        site = rng.choice(SITES)
        main = VERY_SHORT_MAINS[i % len(VERY_SHORT_MAINS)]
        page_text = page_html("Welcome", main, site.name, rng, chrome="none")
        url = f"https://{site.domain}/landing/{i + 1}"
        pages.append(Page(url=url, category="very_short", html=page_text))
    return pages


def simple_article_page(url: str, category: str, title: str, lines: list[str], rng: random.Random) -> Page:
    """A page whose <article> is a title and one paragraph per line, in ordinary site chrome."""
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    main = f"<article><h1>{html.escape(title)}</h1>\n{body}\n</article>"
    return Page(url=url, category=category, html=page_html(title, main, "Daily Offers", rng))


SPAM_SERVICES = (
    "cheap flights to {city}", "emergency plumbers in {city}", "used cars in {city}", "wedding venues near {city}",
    "same day loans in {city}", "hotel deals in {city}",
)


def repetitive_pages(rng: random.Random) -> list[Page]:
    """Doorway pages: the same few lines over and over, and keyword soup (GopherRepetitionFilter)."""
    pages = []
    for i in range(CATEGORY_COUNTS["repetitive"]):
        service = fill_slots(rng.choice(SPAM_SERVICES), {}, rng)
        variants = (
            f"{service} at the lowest prices guaranteed.",
            f"Book {service.lower()} today and save more.",
            f"Compare {service.lower()} in one place.",
        )
        lines = [rng.choice(variants) for _ in range(rng.randint(14, 24))]
        url = f"https://www.{slugify(service)}-deals.com/page/{i + 1}"
        pages.append(simple_article_page(url, "repetitive", service, lines, rng))
    for i in range(CATEGORY_COUNTS["keyword_stuffed"]):
        service = fill_slots(rng.choice(SPAM_SERVICES), {}, rng).lower()
        words = []
        for _ in range(rng.randint(8, 12)):
            words += [service, rng.choice(("best", "cheap", "top", "online"))]
            words += [service, rng.choice(("deals", "offers", "near me", "today"))]
        stuffed = " ".join(words).capitalize() + "."
        lines = [f"Looking for {service}? You have come to the right place.", stuffed]
        url = f"https://{slugify(service)}.info/{i + 1}"
        pages.append(simple_article_page(url, "keyword_stuffed", service.capitalize(), lines, rng))
    return pages


HASHTAGS = (
    "#travel", "#sunset", "#wanderlust", "#weekend", "#foodie", "#photography", "#citybreak", "#instagood",
    "#explore", "#holiday", "#nofilter", "#happy", "#love", "#summer", "#tbt",
)


def low_quality_pages(rng: random.Random) -> list[Page]:
    """Pages GopherQualityFilter rejects: too few words, hashtag soup, ellipsis teasers, tables of numbers."""
    pages = []
    for i in range(CATEGORY_COUNTS["low_quality"]):
        kind = i % 4
        city = rng.choice(SHARED_SLOTS["city"])
        if kind == 0:  # fewer than 50 words (but long enough that trafilatura does not fall back)
            title = "Notice to customers"
            lines = [
                f"Please note that our {city} showroom will be closed on {rng.choice(SHARED_SLOTS['weekday'])} for essential maintenance and staff training.",
                f"Collections and deliveries booked for that {rng.choice(('morning', 'afternoon', 'day'))} will be rearranged automatically, and affected customers will receive a message.",
                "We apologise for any inconvenience.",
            ]
        elif kind == 1:  # more than one '#' per ten words
            title = f"Evening in {city}"
            tags = rng.sample(HASHTAGS, k=14)
            lines = [
                f"What a beautiful evening in {city} with the best people and the best food in town.",
                "We walked for hours and ended the day watching the sun go down over the water.",
                " ".join(tags),
                " ".join(rng.sample(tags, k=10)),
            ]
        elif kind == 2:  # teasers cut off with an ellipsis
            title = "Latest stories"
            topic = rng.choice(TOPICS)
            sentences = [fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, 10)]
            lines = [sentence.rsplit(" ", 6)[0] + "..." for sentence in sentences]
        else:  # a results table: mostly numbers
            title = "League table"
            lines = ["Results for the season so far are listed below."] + [
                " ".join(str(rng.randint(0, 99)) for _ in range(7)) for _ in range(12)
            ]
        site = rng.choice(SITES)
        url = f"https://{site.domain}/updates/{slugify(title)}-{i + 1}"
        pages.append(simple_article_page(url, "low_quality", title, lines, rng))
    return pages


LOREM_WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo "
    "consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur"
).split()
# Filled in per page: trafilatura drops a paragraph of over 100 characters on its fourth sighting.
CODE_SNIPPETS = (
    'const settings = {{ theme: "{word}", retries: {number}, timeout: {ms} }};',
    "function handle{Word}(event) {{ event.preventDefault(); open{Word}({number}); }}",
    'if (user.has{Word}) {{ show{Word}Panel({number}); }} else {{ redirect("/{word}"); }}',
)
CODE_WORDS = ("dark", "menu", "cart", "profile", "search", "gallery", "settings", "inbox")


def c4_pages(rng: random.Random) -> list[Page]:
    """Pages C4QualityFilter rejects: a theme's lorem ipsum left in place, code with curly brackets,
    fewer than five sentences."""
    pages = []
    for i in range(CATEGORY_COUNTS["lorem_ipsum"]):
        topic = rng.choice(TOPICS)
        lines = [fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, k=6)]
        lorem = "Lorem ipsum " + " ".join(rng.choice(LOREM_WORDS) for _ in range(rng.randint(14, 20))) + "."
        lines.insert(rng.randint(1, 5), lorem)  # different on every page, or trafilatura drops it as repeated
        site = rng.choice(SITES)
        url = f"https://{site.domain}/draft/sample-page-{i + 1}/"
        pages.append(simple_article_page(url, "lorem_ipsum", "Sample page", lines, rng))
    for i in range(CATEGORY_COUNTS["code_like"]):
        topic = next(t for t in TOPICS if t.name == "programming")
        lines = [fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, k=6)]
        word = rng.choice(CODE_WORDS)
        number, ms = rng.randint(2, 99), rng.randint(100, 5000)
        snippet = rng.choice(CODE_SNIPPETS).format(word=word, Word=word.title(), number=number, ms=ms)
        lines.insert(rng.randint(1, 5), f"The whole thing fits on one line: {snippet}")
        url = f"https://www.quietbuildlog.dev/snippets/{i + 1}-small-interactive-pages.html"
        pages.append(simple_article_page(url, "code_like", "Small interactive pages", lines, rng))
    for i in range(CATEGORY_COUNTS["few_sentences"]):
        topic = rng.choice(TOPICS)
        text = " ".join(fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, k=3))
        site = rng.choice(SITES)
        title = fill_slots(rng.choice(topic.titles), topic.slots, rng)
        url = f"https://{site.domain}/short/{i + 1}"
        pages.append(simple_article_page(url, "few_sentences", title, [text], rng))
    return pages


MARKET_STALLS = (
    "Fresh sourdough and rye loaves", "Free range eggs from the farm", "Local honey in glass jars",
    "Seasonal apples and pears", "Handmade goat cheese rounds", "Cut flowers in paper bundles",
    "Smoked fish from the coast", "Organic salad leaves by weight", "Homemade jams and chutneys",
    "Wooden toys for young children", "Knitted hats and scarves", "Vintage records and books",
    "Hot coffee from the van", "Street food from six countries", "Potted herbs for the windowsill",
    "Second hand bicycles and parts", "Plants grown by the school", "Candles made from beeswax",
)
# Short verses written for this sample: nearly every line is under 30 characters.
POEMS = (
    ("Frost on the kitchen pane,", "the kettle starts to sing,", "my father lights the stove", "and swears at everything.",
     "The dog is by the door,", "the radio is low,", "and no one wants to go", "out in the falling snow."),
    ("The boats come in at five,", "the gulls are loud and bold,", "the nets are wet and heavy", "and the harbour wall is cold.",
     "My uncle counts the catch,", "my aunt counts out the pay,", "and both of them are smiling", "at the ending of the day."),
    ("We walked the lane in June,", "the hedges thick with may,", "and talked of nothing much", "to pass the long, bright day.",
     "The river took the light,", "the swallows took the air,", "and if you ask me now,", "I think that I am there."),
    ("The last bus leaves at one,", "the chip shop shuts at two,", "the city folds its arms", "and waits for something new.",
     "A fox crosses the square,", "a window flickers blue,", "and somewhere someone sings", "a song I never knew."),
)
DUPLICATED_LINES = (
    "Story continues below this advertisement",
    "Sign up for our free daily newsletter here",
    "Read more stories like this from our team",
)


def fineweb_pages(rng: random.Random) -> list[Page]:
    """Pages FineWebQualityFilter rejects: listings whose lines lack punctuation, verse (short lines),
    and articles whose 'continue reading' lines repeat (characters in duplicated lines)."""
    pages = []
    for i in range(CATEGORY_COUNTS["list_like"]):
        city = rng.choice(SHARED_SLOTS["city"])
        site = rng.choice(SITES)
        title, items = f"{city} weekend market", rng.sample(MARKET_STALLS, k=rng.randint(12, 16))
        intro = f"Here is who you will find at the {city} weekend market this month."
        headings = ("Stalls on the main square", "Stalls along the river path")
        half = len(items) // 2
        body = (
            f"<p>{html.escape(intro)}</p>\n"
            + "".join(f"<h2>{h}</h2>\n<ul>{''.join(f'<li>{item}</li>' for item in part)}</ul>\n"
                      for h, part in zip(headings, (items[:half], items[half:]), strict=True))
        )
        main = f"<article><h1>{html.escape(title)}</h1>\n{body}</article>"
        url = f"https://{site.domain}/whats-on/{slugify(title)}-{i + 1}"
        pages.append(Page(url=url, category="list_like", html=page_html(title, main, site.name, rng)))
    for i in range(CATEGORY_COUNTS["verse"]):
        poems = rng.sample(POEMS, k=2)
        stanzas = "".join(f"<p>{'<br>'.join(poem[:4])}</p><p>{'<br>'.join(poem[4:])}</p>" for poem in poems)
        main = f"<article><h1>Two poems for a quiet evening</h1>{stanzas}</article>"
        url = f"https://www.oldtownrecords.org/readers/poems-{i + 1}.html"
        pages.append(Page(url=url, category="verse", html=page_html("Two poems", main, SITES[7].name, rng)))
    for i in range(CATEGORY_COUNTS["duplicated_lines"]):
        site = TOPIC_SITES[i * 3 % len(TOPIC_SITES)]
        article = write_article(next(t for t in TOPICS if t.name == site.topic), rng, 500)
        for line in rng.sample(DUPLICATED_LINES, k=2):
            for _ in range(2):
                article.blocks.insert(rng.randint(1, len(article.blocks)), ("p", line))
        page_text = page_html(article.title, article_html(article), site.name, rng)
        url = article_url(site, article, 2000 + i)
        pages.append(Page(url=url, category="duplicated_lines", html=page_text))
    return pages


# ---------------------------------------------------------------------------------------------------
# All pages, then the WARC file.
# ---------------------------------------------------------------------------------------------------


def sample_pages(seed: int = 0) -> list[Page]:
    """Every HTML page of the sample, in crawl order (shuffled, as a crawl interleaves sites)."""
    rng = random.Random(seed)
    good_count = CATEGORY_COUNTS["good"] + CATEGORY_COUNTS["good_with_pii"]
    good = [make_good_article(rng, serial) for serial in range(good_count)]
    for article in good[CATEGORY_COUNTS["good"]:]:
        add_pii(article, rng)
    pages = [g.page for g in good]
    pages.append(windows_1252_article(rng))
    pages += duplicate_pages(good[: CATEGORY_COUNTS["good"]], rng)
    pages += foreign_pages(rng)
    pages += blocklisted_pages(rng)
    pages += boilerplate_pages(rng)
    pages += repetitive_pages(rng)
    pages += low_quality_pages(rng)
    pages += c4_pages(rng)
    pages += fineweb_pages(rng)
    make_urls_unique(pages)
    rng.shuffle(pages)
    # A few pages without a payload type, as in older crawls: the reader has to sniff the bytes.
    for page in rng.sample([p for p in pages if p.category == "good"], k=2):
        page.sniff = True
    return pages


def make_urls_unique(pages: list[Page]) -> None:
    """Two generated articles can get the same title, hence the same URL: number the later ones, as
    content systems do."""
    seen: Counter[str] = Counter()
    for page in pages:
        seen[page.url] += 1
        if seen[page.url] > 1:
            number, slash = seen[page.url], "/" if page.url.endswith("/") else ""
            is_html = page.url.endswith(".html")
            stem, dot, extension = page.url.rpartition(".") if is_html else (page.url.rstrip("/"), "", "")
            page.url = f"{stem}-{number}{dot}{extension}{slash}"


def tiny_png() -> bytes:
    """An 8x8 grey PNG, built by hand so no image library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + bytes([128]) * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    image = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + image


def tiny_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def host_ip(url: str) -> str:
    """The server address a crawler would record for the URL's host (made up, stable)."""
    digest = hashlib.sha256(url.split("/")[2].encode()).digest()
    return f"{52 + digest[0] % 100}.{digest[1]}.{digest[2]}.{1 + digest[3] % 250}"


class SampleWarcWriter:
    """Writes records whose ids and dates come from the seed and the record's position, never from the
    clock or a random uuid, so the file is the same bytes every time."""

    def __init__(self, stream: BinaryIO, seed: int, part: str = "") -> None:
        self.writer = WARCWriter(stream, gzip=True, warc_version="WARC/1.0")
        self.seed = seed
        self.part = part  # ids of the parts of a split sample must differ
        self.serial = 0
        self.warcinfo_id = ""

    def next_id(self) -> str:
        self.serial += 1
        digest = hashlib.sha256(f"finemill-sample:{self.seed}{self.part}:{self.serial}".encode()).digest()
        return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"

    def warc_date(self) -> datetime:
        return CRAWL_START + timedelta(seconds=7 * self.serial)

    def write(self, record_type: str, url: str, payload: bytes, headers: dict[str, str], **kwargs) -> str:
        record_id = self.next_id()
        warc_date = self.warc_date().strftime("%Y-%m-%dT%H:%M:%SZ")
        warc_headers = {"WARC-Record-ID": record_id, "WARC-Date": warc_date}
        if self.warcinfo_id:
            warc_headers["WARC-Warcinfo-ID"] = self.warcinfo_id
        record = self.writer.create_warc_record(
            url, record_type, payload=io.BytesIO(payload), length=len(payload),
            warc_headers_dict={**warc_headers, **headers}, **kwargs,
        )
        self.writer.write_record(record)
        return record_id

    def warcinfo(self, filename: str) -> None:
        info = (
            "software: finemill sample generator (warcio)\r\nformat: WARC File Format 1.0\r\n"
            f"description: synthetic sample crawl, seed {self.seed}\r\nisPartOf: FINEMILL-SAMPLE\r\n"
            "operator: finemill\r\n"
        ).encode()
        headers = {"WARC-Filename": filename}
        self.warcinfo_id = self.write("warcinfo", "", info, headers, warc_content_type=WARC_FIELDS)

    def request(self, url: str) -> None:
        host, _, path = url.removeprefix("https://").partition("/")
        payload = (
            f"GET /{path} HTTP/1.1\r\nUser-Agent: {CRAWLER_USER_AGENT}\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
            f"Accept-Language: en-US,en;q=0.5\r\nHost: {host}\r\nConnection: Keep-Alive\r\n\r\n"
        ).encode()
        self.write("request", url, payload, {"WARC-IP-Address": host_ip(url)})

    def response(self, url: str, payload: bytes, content_type: str, payload_type: str | None) -> str:
        http_headers = StatusAndHeaders(
            "200 OK",
            [
                ("Date", self.warc_date().strftime("%a, %d %b %Y %H:%M:%S GMT")),
                ("Server", SERVERS[hashlib.sha256(url.encode()).digest()[0] % len(SERVERS)]),
                ("Content-Type", content_type),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "max-age=600"),
                ("Connection", "close"),
            ],
            protocol="HTTP/1.1",
        )
        headers = {"WARC-IP-Address": host_ip(url)}
        if payload_type:  # Common Crawl's own sniffing result
            headers["WARC-Identified-Payload-Type"] = payload_type
        return self.write("response", url, payload, headers, http_headers=http_headers)

    def metadata(self, url: str, response_id: str) -> None:
        payload = f"fetchTimeMs: {100 + self.serial % 400}\r\ncharset-detected: UTF-8\r\n".encode()
        headers = {"WARC-Concurrent-To": response_id}
        self.write("metadata", url, payload, headers, warc_content_type=WARC_FIELDS)


def write_sample_warc(path: str | Path, seed: int = 0, part: int = 0, parts: int = 1) -> dict:
    """Write the sample crawl to `path` (WARC/1.0, gzip per record) and return how many pages of each
    category the whole sample holds (see the module docstring). Same seed, same bytes.

    With `parts` > 1 the file holds only every `parts`-th page starting at `part`: the sample split into
    several files, so that a run of it has one task per file to spread over workers."""
    pages = sample_pages(seed)
    path = Path(path)
    part_label = f"-{part}-of-{parts}" if parts > 1 else ""
    with path.open("wb") as stream:
        warc = SampleWarcWriter(stream, seed, part_label)
        warc.warcinfo(f"finemill-sample-{seed:05d}{part_label}.warc.gz")  # not path.name: same bytes anywhere
        for index, page in enumerate(pages):
            if index % parts != part:
                continue
            # Common Crawl stores request, response and metadata for every page; a few of each will do.
            with_neighbours = index % 60 == 0
            if with_neighbours:
                warc.request(page.url)
            charset = "UTF-8" if page.charset == "utf-8" else page.charset
            payload_type = None if page.sniff else "text/html"
            payload, content_type = page.html.encode(page.charset), f"text/html; charset={charset}"
            response_id = warc.response(page.url, payload, content_type, payload_type)
            if with_neighbours:
                warc.metadata(page.url, response_id)
            if index == len(pages) // 3:
                url = f"https://{SITES[0].domain}/static/img/logo.png"
                warc.response(url, tiny_png(), "image/png", "image/png")
            if index == 2 * len(pages) // 3:  # no payload type here either: sniffing must say PDF
                url = f"https://{SITES[18].domain}/files/council-minutes.pdf"
                warc.response(url, tiny_pdf(), "application/pdf", None)
    counts = Counter(page.category for page in pages)
    counts["non_html"] = 2
    return {category: counts[category] for category in (*CATEGORY_COUNTS, "non_html")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print("usage: python -m finemill.demo.crawl OUT.warc.gz [SEED]", file=sys.stderr)
        return 2
    summary = write_sample_warc(argv[0], seed=int(argv[1]) if len(argv) == 2 else 0)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
