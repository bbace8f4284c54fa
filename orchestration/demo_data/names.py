"""Word lists the generator draws names, titles and free text from.

Kept apart from the logic so the stages read as behaviour, not as vocabulary.
"""

from __future__ import annotations

COMPANY_WORDS = [
    "Northwind", "Bluefin", "Cedar", "Summit", "Harbor", "Redwood", "Granite", "Silverline",
    "Brightpath", "Ironclad", "Lakeshore", "Maple", "Orbit", "Pioneer", "Quartz", "Riverbend",
    "Sterling", "Tidewater", "Upland", "Vantage", "Westfield", "Yellowstone", "Zenith",
    "Atlas", "Beacon", "Cobalt", "Driftwood", "Evergreen", "Falcon", "Glacier", "Horizon",
    "Indigo", "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus", "Oakridge", "Pinnacle",
    "Quill", "Radiant", "Sequoia", "Trident", "Unity", "Vertex", "Willow", "Apex", "Birch",
    "Canyon", "Delta", "Ember", "Fjord", "Gable", "Hawthorn", "Ivory", "Jasper", "Kestrel",
    "Larkspur", "Mosaic", "Nova", "Onyx", "Prairie", "Rowan", "Sable", "Tundra", "Umber",
    "Velvet", "Wren", "Alder", "Bristle", "Crescent", "Dune", "Echo", "Foxglove", "Garnet",
    "Heron", "Islet", "Jetstream", "Kindred", "Lattice",
]

COMPANY_NOUNS = [
    "Analytics", "Logistics", "Health", "Labs", "Systems", "Foods", "Energy", "Robotics",
    "Media", "Capital", "Outfitters", "Dynamics", "Networks", "Studios", "Supply",
    "Manufacturing", "Partners", "Software", "Biotech", "Retail", "Freight", "Insurance",
    "Learning", "Mobility", "Security", "Hospitality", "Construction", "Pharma", "Apparel",
    "Telecom", "Consulting", "Marine", "Aerospace", "Farms", "Payments", "Cloud",
    "Devices", "Ventures", "Brands", "Clinics",
]

TLDS = ["com", "com", "com", "io", "co", "net", "ai"]

INDUSTRIES = [
    "COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL",
    "LOGISTICS_AND_SUPPLY_CHAIN", "MARKETING_AND_ADVERTISING", "E_LEARNING",
    "INFORMATION_TECHNOLOGY_AND_SERVICES", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "CONSUMER_GOODS", "INSURANCE", "TELECOMMUNICATIONS", "REAL_ESTATE", "FOOD_BEVERAGES",
]

FIRST_NAMES = [
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sophia", "Lucas", "Mia", "Ethan",
    "Amara", "Kenji", "Priya", "Diego", "Fatima", "Jonas", "Ingrid", "Tariq", "Chloe", "Omar",
    "Hannah", "Ravi", "Elena", "Marcus", "Yuki", "Sofia", "Daniel", "Leah", "Samuel", "Nora",
    "Aisha", "Felix", "Grace", "Hugo", "Isla", "Jamal", "Keira", "Leo", "Maya", "Nikhil",
    "Oscar", "Paula", "Quentin", "Rosa", "Stefan", "Tara", "Umar", "Vera", "Wei", "Zara",
]

LAST_NAMES = [
    "Smith", "Garcia", "Chen", "Patel", "Johnson", "Müller", "Okafor", "Rossi", "Kim",
    "Nguyen", "Silva", "Andersen", "Kowalski", "Haddad", "Tanaka", "Brown", "Dubois",
    "Fischer", "Ivanova", "Jensen", "Lopez", "Martin", "Novak", "O'Brien", "Park", "Quinn",
    "Reyes", "Schmidt", "Thompson", "Usman", "Varga", "Walker", "Yilmaz", "Zhang", "Ahmed",
    "Bianchi", "Costa", "Davies", "Eriksson", "Ferreira", "Gupta", "Hughes", "Ito", "Jovanovic",
    "Khan", "Larsen", "Moreau", "Nielsen", "Ortiz", "Petrov",
]

JOB_TITLES = [
    "Head of Operations", "Data Analyst", "VP Finance", "Operations Manager", "CTO",
    "Product Manager", "Analytics Lead", "Customer Success Manager", "Director of IT",
    "Business Analyst", "COO", "Marketing Manager", "Revenue Operations Manager",
    "Software Engineer", "Finance Manager",
]

PERSONAL_EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"]

# The vendor's own people: CSMs own companies, account executives own new deals.
CSM_NAMES = [
    ("Jordan", "Blake"), ("Priya", "Raman"), ("Marco", "Conti"), ("Lena", "Hoffmann"),
    ("Samir", "Aziz"), ("Claire", "Dubois"), ("Tomás", "Herrera"), ("Hana", "Sato"),
]
AE_NAMES = [("Rachel", "Stone"), ("Victor", "Lindqvist")]
VENDOR_DOMAIN = "brightmetrics.io"

TICKET_SUBJECTS = {
    "question": [
        "How do I share a dashboard with external users?",
        "Question about seat limits on our plan",
        "Can we schedule report exports?",
        "How to connect a second data source",
        "Where can I find the API documentation?",
        "Billing question about our last invoice",
    ],
    "problem": [
        "Dashboard loads very slowly",
        "Report totals do not match our source data",
        "Integration sync keeps failing",
        "Cannot invite new teammates",
        "Export to CSV times out",
        "SSO login loop for some users",
    ],
    "incident": [
        "Dashboards down for our whole team",
        "Data pipeline stopped syncing overnight",
        "API returns 500 errors",
        "Scheduled reports not delivered",
    ],
    "task": [
        "Please update our billing contact",
        "Request to add a new workspace admin",
        "Please enable the analytics add-on trial",
        "Remove a former employee's access",
    ],
}

BAD_RATING_REASONS = [
    "The issue took too long to resolve",
    "The issue was not resolved",
    "The agent's knowledge is unsatisfactory",
    "The agent's attitude is unsatisfactory",
    "Some other reason",
]
GOOD_RATING_COMMENTS = ["Quick and helpful, thanks!", "Great support", "Solved in minutes"]
BAD_RATING_COMMENTS = ["Still broken", "Took days to get an answer", "Not helpful at all"]

NPS_COMMENTS = {
    "promoter": [
        "Our team relies on it every day",
        "Great product and great support",
        "The automations save us hours every week",
        "Easy to use and powerful",
    ],
    "passive": [
        "Good overall, a few features missing",
        "Does the job, could be faster",
        "Pricing is a bit high for what we use",
    ],
    "detractor": [
        "Too many outages lately",
        "We barely use it anymore",
        "Too expensive for the value we get",
        "Support takes too long to respond",
        "Hard to get the team to adopt it",
    ],
}
CSAT_COMMENTS = ["Thanks for the quick help", "Problem solved", "Slow response", "Meh"]

MEETING_TITLES = {
    "onboarding": "Onboarding kickoff",
    "qbr": "Quarterly business review",
    "checkin": "Check-in call",
    "renewal": "Renewal discussion",
    "expansion": "Expansion planning",
    "escalation": "Escalation review",
    "discovery": "Discovery call",
}
