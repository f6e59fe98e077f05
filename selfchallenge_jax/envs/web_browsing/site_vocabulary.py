"""Words the site generator draws from: company themes, people, departments, phone formats."""

from __future__ import annotations

THEMES: tuple[dict[str, tuple[str, ...]], ...] = (
    {"company": ("MagicWand Co.", "Arcane Works", "Starlight Enchantments"),
     "categories": ("Wand", "Potion", "Spellbook", "Crystal Ball", "Amulet"),
     "adjectives": ("Mystical", "Ancient", "Legendary", "Rare", "Enchanted", "Magical", "Celestial",
                    "Shadow")},
    {"company": ("Summit Gear Co.", "Trailhead Outfitters", "Northridge Supply"),
     "categories": ("Tent", "Backpack", "Lantern", "Hiking Boots", "Sleeping Bag"),
     "adjectives": ("Alpine", "Trail", "Summit", "Ridge", "Canyon", "Glacier", "Forest", "Desert")},
    {"company": ("Bean & Brew Co.", "Morning Ritual Roasters", "Copperpot Coffee"),
     "categories": ("Coffee Beans", "Grinder", "Kettle", "Mug", "Espresso Machine"),
     "adjectives": ("Classic", "Deluxe", "Artisan", "Premium", "Vintage", "Compact", "Royal",
                    "Nordic")},
    {"company": ("Cogsworth Robotics", "Brightgear Labs", "Ironleaf Automation"),
     "categories": ("Robot Arm", "Drone", "Sensor Kit", "Servo", "Controller"),
     "adjectives": ("Nano", "Titan", "Swift", "Quantum", "Atlas", "Orbit", "Pixel", "Vector")},
)

DEPARTMENTS = ("Engineering", "Marketing", "Sales", "Customer Support", "Research", "Finance")
LEADER_TITLES = ("CEO", "Head of Engineering", "Chief Product Officer", "Head of Sales",
                 "Chief Financial Officer")

FIRST_NAMES = (
    "Allison", "Meredith", "Kimberly", "Henry", "Renee", "Jennifer", "Shannon", "Katie", "Theresa",
    "Joseph", "David", "Scott", "Thomas", "James", "Jordan", "Mike", "Olivia", "Noah", "Emma",
    "Liam", "Sophia", "Mason", "Isabella", "Ethan", "Ava", "Lucas", "Mia", "Aiden", "Harper",
    "Elijah", "Amelia", "Logan", "Evelyn", "Carter", "Abigail", "Wyatt", "Grace", "Owen", "Chloe",
)
LAST_NAMES = (
    "Hill", "Barnes", "Dudley", "Santiago", "Morales", "Robinson", "Smith", "Gonzalez", "Miller",
    "Martinez", "Caldwell", "Brown", "Ramos", "House", "York", "Allen", "Nguyen", "Patel", "Kim",
    "Garcia", "Lopez", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams",
    "Nelson", "Carter", "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell", "Parker",
)
EMAIL_DOMAINS = ("taylor.net", "lawrence-pacheco.com", "miller-carter.org", "zuniga.com",
                 "clark.com", "hicks.com", "wilson.com", "farmer-ryan.net", "brown.org", "ryan.org",
                 "joyce.com", "garcia.com", "larson.com", "anderson-brewer.info")
# Phone layouts like those on M3ToolEval's site; "#" is a random digit.
PHONE_FORMATS = ("###-###-####", "(###)###-####x###", "+1-###-###-####", "###.###.####",
                 "##########", "001-###-###-####x#####", "###-###-####x####")

BLOG_TOPICS = (
    ("Product Care Guide", "How to keep your {category} in top shape for years."),
    ("Behind the Scenes", "A look at how our team designs each new {category}."),
    ("Customer Stories", "Five customers tell us how a {category} changed their routine."),
    ("Industry Trends", "What the next year holds for {category} makers."),
    ("Gift Ideas", "Our staff pick the best {category} for every budget."),
)
