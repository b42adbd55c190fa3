"""Small files in each dataset format, written by the tests (never read from ../shared)."""

from __future__ import annotations

PREAMBLE = [
    "Transfers of major conventional arms from All countries  to All countries . Deals with "
    "deliveries made for the year range '1995' to '2025'",
    "A '?' in a column indicates uncertain data.",
    "An empty field for 'Number ordered' indicates that data is not yet available.",
    "SIPRI trend-indicator values (TIVs) are in millions.",
    "An empty field for 'SIPRI TIV for total order' indicates that data is not available.",
    "A '0' for 'SIPRI TIV of delivered weapons' indicates a small volume",
    "Figures may not add up to stated totals due to the conventions of rounding.",
    "For the method see <https://www.sipri.org/databases/armstransfers/sources-and-methods>.",
    "",
    "Source: SIPRI Arms Transfers Database (c) SIPRI.",
]
HEADER_2026 = (
    "SIPRI AT Database ID,Supplier,Recipient,Designation,Description,Armament category,"
    "Order date,Order date is estimate,Numbers delivered,Numbers delivered is estimate,"
    "Delivery year,Delivery year is estimate,Status,SIPRI estimate,TIV deal unit,"
    "TIV delivery values,Local production"
)
ROWS_2026 = [
    "67673,Australia,Ukraine,RBS-70-3,portable SAM,Missiles,2024,,100,Yes,2024,,Second hand,0.1,0.04,4,No",
    "65361,Australia,Ukraine,Bushmaster,armoured personnel carrier,Armoured vehicles,2022,No,70,No,2022,No,Second hand,0.35,0.14,9.8,No",
    "65361,Australia,Ukraine,Bushmaster,armoured personnel carrier,Armoured vehicles,2022,No,50,Yes,2023,No,Second hand,0.35,0.14,7,No",
    "57867,Czechia,NATO**,VERA-E,air-search system,Sensors,2014,No,1,No,2016,Yes,New,12,12,12,No",
    "36437,unknown supplier(s),LTTE (Sri Lanka)*,PM-43 120mm,mortar,Artillery,2002,Yes,25,Yes,2002,Yes,Second hand,0.25,0.1,2.5,No",
    "56021,Brazil,unknown recipient(s),SMKB,guided bomb,Missiles,2010,Yes,50,Yes,2013,Yes,New,0.02,0.02,1,No",
]


def sipri_2026(rows=None, generated="12 Feb 2026 12:26:12 PM", *, end="\r\n") -> bytes:
    rows = ROWS_2026 if rows is None else rows
    lines = [*PREAMBLE, f"Data generated: {generated}", HEADER_2026, *rows]
    return (end.join(line + ";" for line in lines) + end).encode("utf-8")


HEADER_CLASSIC = (
    "Recipient,Supplier,Year of order, ,Number ordered, ,Weapon designation,Weapon description,"
    "Number delivered, ,Year(s) of delivery,status,Comments,SIPRI TIV per unit,"
    "SIPRI TIV for total order,SIPRI TIV of delivered weapons"
)
ROWS_CLASSIC = [
    "Afghanistan,unknown supplier(s),2007,?,6,,Mi-17,transport helicopter,6,,2008,Second hand,Probably second-hand; financed by UAE,2.9,17.4,17.4",
    "African Union**,unknown supplier(s),2004,,15,,Mi-17,transport helicopter,15,,2005,Second hand,Leased,2.9,43.5,43.5",
    "Angola,unknown supplier(s),2018,?,29,?,BTR-70,APC,29,?,2019; 2020; 2021,Second hand,Supplier possibly Bulgaria,0.11,3.13,3.13",
    "ZAPU (Zimbabwe)*,Soviet Union,1978,?,10,?,Strela-2,portable SAM,10,,1978; 1979,New,Côte d'Ivoire comment,0.04,0.4,0.4",
    "Ukraine,Poland,2022,,40,,T-72M1,tank,0,,,Second hand,Not yet delivered,1,40,0",
    "Cote d'Ivoire,United States,2024,?,12,?,vehicle engine,vehicle engine,0,,,New,Cummins diesel engine for 12 APC from South Africa",
    ",0.03,0.36,0",
]


def sipri_classic(rows=None, generated="13 Mar 2025 10:02:49 AM") -> bytes:
    rows = ROWS_CLASSIC if rows is None else rows
    lines = [*PREAMBLE, f"Data generated: {generated}", HEADER_CLASSIC, *rows]
    return ("\n".join(lines) + "\n").encode("latin-1")


ORYX_SUPPLIED_HEADER = (
    "id,vehicle_name,vehicle_type,supplier,supplier_abbr,recipient,recipient_abbr,count,"
    "is_delivered,is_soviet,proof,year_first_produced"
)
ORYX_SUPPLIED_ROWS = [
    "0,Su-25,Aircraft,NATO,NATO,Ukraine,UA,14,True,False,https://i.postimg.cc/RF9WvybT/547.png,1978.0",
    "10,Mi-24V,Helicopters,Czech Republic,CZ,Ukraine,UA,4,False,False,https://i.postimg.cc/zBtTMPNc/image.jpg,1976.0",
    "64,AIFV-B-C25,Infantry Fighting Vehicles,NONE,NONE,Ukraine,UA,0,True,False,https://i.postimg.cc/vB1Sbrv6/24k.png,1970.0",
    "140,M142 HIMARS,Towed Artillery,United States,USA,Ukraine,UA,20,True,False,https://i.postimg.cc/shared/1.png,",
    "141,M142 HIMARS launcher,Towed Artillery,Germany,GER,Ukraine,UA,3,True,False,https://i.postimg.cc/shared/1.png,",
    "264,Unmanned Aerial Vehicle,Reconnaissance UAVs,Netherlands,NTHL,Ukraine,UA,0,True,False,https://nos.nl/artikel/2432074,",
    "264,Unmanned Aerial Vehicle,Reconnaissance UAVs,Netherlands,NTHL,Ukraine,UA,0,True,False,https://nos.nl/artikel/2432074,",
    "345,T-72A,Tanks,Belarus,BEL,Russia,RU,98,True,True,https://twitter.com/MotolkoHelp/status/1583472456094056449,1979.0",
]


def oryx_supplied(rows=None) -> bytes:
    rows = ORYX_SUPPLIED_ROWS if rows is None else rows
    return ("\n".join([ORYX_SUPPLIED_HEADER, *rows]) + "\n").encode()


ORYX_LOSSES_HEADER = "country,origin,system,status,url,date_recorded,sysID,imageID,statusID,matID"
ORYX_LOSSES_ROWS = [
    "Ukraine,United States,10 155mm M777A2 howitzer,destroyed,https://i.postimg.cc/QtG4XVQx/2002-m777-destr.jpg,2022-10-08,5968,24677,1,380-5968246771",
    "Ukraine,United States,10 155mm M777A2 howitzer,destroyed,https://i.postimg.cc/VvnzxRCL/554g.png,2022-10-17,5968,24678,1,380-5968246781",
    "Ukraine,Poland,155mm AHS Krab,destroyed,https://twitter.com/UAWeapons/status/1677957933441642497,2023-07-09,8100,30000,1,380-81003000001",
    "Ukraine,Poland,1 120mm M120K 'Rak',destroyed,https://twitter.com/UAWeapons/status/1677957933441642497,2024-04-08,5705,24399,1,380-5705243991",
]


def oryx_losses(rows=None) -> bytes:
    rows = ORYX_LOSSES_ROWS if rows is None else rows
    return ("\n".join([ORYX_LOSSES_HEADER, *rows]) + "\n").encode()


KIEL_HEADER = '"donor","category","number_of_weapons","monetary_value_eur","weapons_list"'
KIEL_ROWS = [
    '"Australia","Howitzers",6,28672479,"M777 howitzer (6)"',
    '"Czechia","Tanks",62,93685184,"Modified T-72 tank (T-72A/T-72M1/M1R) (62)"',
    '"Estonia","Howitzers",57,22398693,"D-30 howitzer (24); FH70 155mm howitzer (24); D-30 Howitzer (9)"',
    '"Norway","MLRS",11,32576112,"M270 weapon system (Norway) (11)"',
]


def kiel(rows=None) -> bytes:
    rows = KIEL_ROWS if rows is None else rows
    return ("\n".join([KIEL_HEADER, *rows]) + "\n").encode()
